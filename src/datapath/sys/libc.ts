/**
 * The only place that talks to libc. Raw bindings; the typed wrappers next
 * to this file are what the rest of the datapath calls. Hot-path functions
 * take addresses as plain Numbers (user-space addresses fit in 53 bits) so
 * that per-packet calls allocate neither BigInts nor subarrays.
 */
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const c = {
    socket: libc.func('int socket(int, int, int)'),
    bind: libc.func('int bind(int, void *, uint32_t)'),
    listen: libc.func('int listen(int, int)'),
    accept4: libc.func('int accept4(int, void *, void *, int)'),
    connect: libc.func('int connect(int, void *, uint32_t)'),
    recvmsg: libc.func('long recvmsg(int, void *, int)'),
    send: libc.func('long send(int, void *, size_t, int)'),
    sendmsg: libc.func('long sendmsg(int, void *, int)'),
    close: libc.func('int close(int)'),
    /** read/write with a JS buffer. */
    readBuf: libc.func('read', 'long', ['int', 'void *', 'size_t']),
    writeBuf: libc.func('write', 'long', ['int', 'void *', 'size_t']),
    /** read/write at a raw address (Number). */
    readAt: libc.func('read', 'long', ['int', 'uintptr_t', 'size_t']),
    writeAt: libc.func('write', 'long', ['int', 'uintptr_t', 'size_t']),
    eventfd: libc.func('int eventfd(unsigned int, int)'),
    mmap: libc.func('void *mmap(void *, size_t, int, int, int, long)'),
    munmap: libc.func('int munmap(void *, size_t)'),
    // Numeric-address variants for placing mappings inside a reserved range.
    mmapAt: libc.func('mmap', 'intptr_t', ['uintptr_t', 'size_t', 'int', 'int', 'int', 'long']),
    mmapAtPtr: libc.func('mmap', 'void *', ['uintptr_t', 'size_t', 'int', 'int', 'int', 'long']),
    munmapAt: libc.func('munmap', 'int', ['uintptr_t', 'size_t']),
    memfdCreate: libc.func('int memfd_create(const char *, unsigned int)'),
    ftruncate: libc.func('int ftruncate(int, long)'),
    ioctl: libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']),
    setsockopt: libc.func('int setsockopt(int, int, int, void *, uint32_t)'),
    schedSetaffinity: libc.func('int sched_setaffinity(int, size_t, void *)'),
    ifNametoindex: libc.func('unsigned int if_nametoindex(const char *)'),
    open: libc.func('open', 'int', ['const char *', 'int', 'int']),
    strerror: libc.func('const char *strerror(int)'),
};

export const errno = (): number => koffi.errno();
export const E = {
    EAGAIN: 11,
    EINTR: 4,
    ENOENT: 2,
    ECONNREFUSED: 111,
    EINPROGRESS: 115,
    EBUSY: 16,
    EPERM: 1,
};

export function errText(e: number): string {
    return `${c.strerror(e)} (errno ${e})`;
}

export class SysError extends Error {
    constructor(readonly op: string, readonly errno: number) {
        super(`${op}: ${errText(errno)}`);
        this.name = 'SysError';
    }
}

/** Throws SysError when a libc call returned -1. */
export function check(op: string, r: number): number {
    if (r < 0) throw new SysError(op, errno());
    return r;
}

/** Native memory that never moves (msghdr blocks, scratch frames). */
export function allocNative(len: number): { addr: number; u8: Uint8Array; ptr: unknown } {
    const ptr = koffi.alloc('uint8_t', len);
    const addr = Number(koffi.address(ptr));
    return { addr, u8: new Uint8Array(koffi.view(ptr, len)), ptr };
}

export { koffi };
