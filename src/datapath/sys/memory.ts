/** Shared memory: mapping the guest's memory fds, memfds for tests. */
import { fstatSync } from 'node:fs';
import { c, check, errno, koffi, SysError } from './libc.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

export interface Mapping {
    /** Host address of the first mapped byte. */
    addr: number;
    len: number;
    buffer: ArrayBuffer;
    /** Offset of the first mapped byte in `buffer` (0 unless mapped in an Arena). */
    base: number;
    unmap(): void;
}

/**
 * koffi.view beyond 4 GiB aborts the whole process (a fatal N-API error,
 * not an exception), and the typed-array views assume less: larger
 * mappings are refused (fuzz finding).
 */
export const MAX_MAPPING = 2 ** 32 - 4096;

export function mapShared(fd: number, len: number, offset: number): Mapping {
    if (!(len > 0) || len > MAX_MAPPING) throw new SysError(`mmap ${len} bytes (mappings must be under 4 GiB)`, 22);
    // Touching a page past the end of the file raises SIGBUS, which no JS
    // code can catch: refuse a mapping the file cannot back (fuzz finding).
    const st = fstatSync(fd);
    // Guest memory is a memfd or a hugetlbfs/tmpfs file. Anything else is refused: /dev/zero, for one,
    // maps "successfully" at any offset, but as a shared object only as large as the mapping, so at an
    // offset past that every touch raised SIGBUS (fuzz finding, 10 M-case run).
    if (!st.isFile()) throw new SysError(`mmap ${len} bytes of an fd that is not a regular file (guest memory must be a memfd or a hugetlbfs/tmpfs file)`, 19);
    if (offset + len > st.size) throw new SysError(`mmap ${len} bytes at offset ${offset} of a ${st.size}-byte file`, 22);
    const ptr = c.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
    const a = koffi.address(ptr);
    if (a === 0xffffffffffffffffn || a === 0n) throw new SysError(`mmap ${len} bytes at offset ${offset}`, errno());
    let mapped = true;
    return {
        addr: Number(a),
        len,
        buffer: koffi.view(ptr, len),
        base: 0,
        unmap() {
            if (mapped) c.munmap(ptr, len);
            mapped = false;
        },
    };
}

/** An anonymous shared memory file of `len` bytes (tests build rings in it). */
export function memfd(name: string, len: number): number {
    const fd = check('memfd_create', c.memfdCreate(name, 1 /* MFD_CLOEXEC */));
    check('ftruncate', c.ftruncate(fd, len));
    return fd;
}
