/** Shared memory: mapping the guest's memory fds, memfds for tests. */
import { c, check, errno, koffi, SysError } from './libc.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

export interface Mapping {
    /** Host address of the first mapped byte. */
    addr: number;
    len: number;
    buffer: ArrayBuffer;
    unmap(): void;
}

export function mapShared(fd: number, len: number, offset: number): Mapping {
    const ptr = c.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
    const a = koffi.address(ptr);
    if (a === 0xffffffffffffffffn || a === 0n) throw new SysError(`mmap ${len} bytes at offset ${offset}`, errno());
    let mapped = true;
    return {
        addr: Number(a),
        len,
        buffer: koffi.view(ptr, len),
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
