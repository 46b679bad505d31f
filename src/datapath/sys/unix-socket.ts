/**
 * Unix stream sockets with fd passing (SCM_RIGHTS), non-blocking. Node's
 * net module reads with read(2) and the kernel drops passed fds, so the
 * vhost-user channel uses these instead.
 */
import { chmodSync, fchmodSync } from 'node:fs';
import { allocNative, c, check, E, errno, SysError } from './libc.js';
import { SUN_PATH_BYTES } from '../../core/limits.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_CTRUNC = 0x8;
const MSG_NOSIGNAL = 0x4000;
const MSG_DONTWAIT = 0x40;

function sockaddrUn(path: string): Buffer {
    const p = Buffer.from(path);
    if (p.length > SUN_PATH_BYTES) throw new SysError(`socket path too long (${p.length} bytes, max ${SUN_PATH_BYTES}): ${path}`, 36);
    const sa = Buffer.alloc(110);
    sa.writeUInt16LE(AF_UNIX, 0);
    p.copy(sa, 2);
    return sa;
}

export function newStreamSocket(): number {
    return check('socket', c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

/** Mode of every socket file we bind: the owner only. */
export const SOCKET_MODE = 0o600;

/**
 * Listening socket at `path`, mode 0600 (an existing file there is replaced).
 * On Linux bind(2) gives the file the socket inode's mode minus the umask, so
 * the fchmod before bind leaves no moment where another user could connect;
 * the chmod after it makes the mode exact whatever the umask.
 */
export function listenUnix(path: string, backlog = 4): number {
    const fd = newStreamSocket();
    const sa = sockaddrUn(path);
    try {
        fchmodSync(fd, SOCKET_MODE);
    } catch (e) {
        c.close(fd);
        throw new SysError(`fchmod ${path}`, Math.abs((e as NodeJS.ErrnoException).errno ?? E.EPERM));
    }
    if (c.bind(fd, sa, sa.length) < 0) {
        const e = errno();
        c.close(fd);
        throw new SysError(`bind ${path}`, e);
    }
    try {
        chmodSync(path, SOCKET_MODE);
    } catch (e) {
        c.close(fd);
        throw new SysError(`chmod ${path}`, Math.abs((e as NodeJS.ErrnoException).errno ?? E.EPERM));
    }
    if (c.listen(fd, backlog) < 0) {
        const e = errno();
        c.close(fd);
        throw new SysError(`listen ${path}`, e);
    }
    return fd;
}

/** Accepts one pending connection; undefined when none is waiting. */
export function acceptUnix(listenFd: number): number | undefined {
    const fd = c.accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    const e = errno();
    if (e === E.EAGAIN || e === E.EINTR) return undefined;
    throw new SysError('accept4', e);
}

/** Connects to `path`; returns the fd, or throws SysError (ENOENT/ECONNREFUSED when nobody listens). */
export function connectUnix(path: string): number {
    const fd = newStreamSocket();
    const sa = sockaddrUn(path);
    if (c.connect(fd, sa, sa.length) < 0) {
        const e = errno();
        // A unix connect completes at once unless the backlog is full.
        if (e !== E.EINPROGRESS && e !== E.EAGAIN) {
            c.close(fd);
            throw new SysError(`connect ${path}`, e);
        }
    }
    return fd;
}

// One native msghdr block for every recvmsg: the process is single-threaded
// and results are copied out before the next call.
const DATA_LEN = 65536;
const CTRL_LEN = 512;
const blk = allocNative(56 + 16 + CTRL_LEN + DATA_LEN);
const IOV = blk.addr + 56;
const CTRL = IOV + 16;
const DATA = CTRL + CTRL_LEN;
const dv = new DataView(blk.u8.buffer, blk.u8.byteOffset, blk.u8.byteLength);

export interface Received {
    /** Bytes read; 0 means the peer closed; -1 means nothing available now. */
    n: number;
    data: Uint8Array;
    fds: number[];
    truncated: boolean;
}

export function recvWithFds(fd: number): Received {
    for (let i = 0; i < 56 + 16 + CTRL_LEN; i++) blk.u8[i] = 0;
    dv.setBigUint64(16, BigInt(IOV), true);
    dv.setBigUint64(24, 1n, true);
    dv.setBigUint64(32, BigInt(CTRL), true);
    dv.setBigUint64(40, BigInt(CTRL_LEN), true);
    dv.setBigUint64(56, BigInt(DATA), true);
    dv.setBigUint64(64, BigInt(DATA_LEN), true);
    const n = Number(c.recvmsg(fd, blk.ptr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
    if (n < 0) {
        const e = errno();
        if (e === E.EAGAIN || e === E.EINTR) return { n: -1, data: new Uint8Array(0), fds: [], truncated: false };
        throw new SysError('recvmsg', e);
    }
    const fds: number[] = [];
    const flags = dv.getInt32(48, true);
    const ctrlLen = Number(dv.getBigUint64(40, true));
    let off = 0;
    while (off + 16 <= ctrlLen) {
        const len = Number(dv.getBigUint64(56 + 16 + off, true));
        if (len < 16) break;
        const level = dv.getInt32(56 + 16 + off + 8, true);
        const type = dv.getInt32(56 + 16 + off + 12, true);
        if (level === SOL_SOCKET && type === SCM_RIGHTS) {
            for (let p = 16; p + 4 <= len; p += 4) fds.push(dv.getInt32(56 + 16 + off + p, true));
        }
        off += (len + 7) & ~7;
    }
    const data = blk.u8.slice(56 + 16 + CTRL_LEN, 56 + 16 + CTRL_LEN + n);
    return { n, data, fds, truncated: (flags & MSG_CTRUNC) !== 0 };
}

/** Sends all of `buf` (small control messages; the socket buffer has room). */
export function sendAll(fd: number, buf: Uint8Array): void {
    let off = 0;
    let spins = 0;
    while (off < buf.length) {
        const chunk = off === 0 ? buf : buf.subarray(off);
        const n = Number(c.send(fd, chunk, chunk.length, MSG_NOSIGNAL));
        if (n < 0) {
            const e = errno();
            if ((e === E.EAGAIN || e === E.EINTR) && spins++ < 1000) continue;
            throw new SysError('send', e);
        }
        off += n;
    }
}

export function closeFd(fd: number | undefined): void {
    if (fd !== undefined && fd >= 0) c.close(fd);
}
