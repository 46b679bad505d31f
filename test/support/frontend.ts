/**
 * The frontend side of vhost-user: sendmsg with SCM_RIGHTS and sealable
 * memfds. The datapath itself only receives fds and maps memory; this is
 * for the hostile-frontend harness (src/fuzz) and tests that play QEMU.
 * Kept apart from unix-socket.ts so the switch's own FFI surface stays as
 * small as it is.
 */
import { allocNative, c, E, errno, koffi, SysError } from '../../src/datapath/sys/libc.js';

const sendmsg = koffi.load('libc.so.6').func('long sendmsg(int, void *, int)');
const fcntl = koffi.load('libc.so.6').func('fcntl', 'int', ['int', 'int', 'int']);
const memfdCreate = koffi.load('libc.so.6').func('int memfd_create(const char *, unsigned int)');

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_DONTWAIT = 0x40;
/** Linux caps SCM_RIGHTS at 253 fds per message. */
export const MAX_SEND_FDS = 253;

const DATA_LEN = 1 << 16;
const CTRL_LEN = 16 + 4 * MAX_SEND_FDS + 4;
const blk = allocNative(56 + 16 + CTRL_LEN + DATA_LEN);
const IOV = blk.addr + 56;
const CTRL = IOV + 16;
const DATA = CTRL + CTRL_LEN;
const dv = new DataView(blk.u8.buffer, blk.u8.byteOffset, blk.u8.byteLength);

/**
 * Sends `data` (≤ 64 KiB) with `fds` attached to its first byte. Returns
 * the bytes sent (a stream socket may take fewer), or -1 when the socket
 * buffer is full; throws SysError for anything else (EPIPE when the peer
 * closed). Never raises SIGPIPE.
 */
export function sendWithFds(sock: number, data: Uint8Array, fds: readonly number[] = []): number {
    if (data.length > DATA_LEN) throw new RangeError(`sendWithFds: ${data.length} bytes > ${DATA_LEN}`);
    if (fds.length > MAX_SEND_FDS) throw new RangeError(`sendWithFds: ${fds.length} fds > ${MAX_SEND_FDS}`);
    blk.u8.fill(0, 0, 56 + 16 + CTRL_LEN);
    blk.u8.set(data, DATA - blk.addr);
    dv.setBigUint64(16, BigInt(IOV), true);
    dv.setBigUint64(24, 1n, true);
    dv.setBigUint64(56, BigInt(DATA), true);
    dv.setBigUint64(64, BigInt(data.length), true);
    if (fds.length) {
        const len = 16 + 4 * fds.length;
        const o = CTRL - blk.addr;
        dv.setBigUint64(o, BigInt(len), true);
        dv.setInt32(o + 8, SOL_SOCKET, true);
        dv.setInt32(o + 12, SCM_RIGHTS, true);
        fds.forEach((fd, i) => dv.setInt32(o + 16 + 4 * i, fd, true));
        dv.setBigUint64(32, BigInt(CTRL), true);
        dv.setBigUint64(40, BigInt((len + 7) & ~7), true);
    }
    const n = Number(sendmsg(sock, blk.ptr, MSG_NOSIGNAL | MSG_DONTWAIT));
    if (n >= 0) return n;
    const e = errno();
    if (e === E.EAGAIN || e === E.EINTR) return -1;
    throw new SysError('sendmsg', e);
}

const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
export const SEAL = { SEAL: 1, SHRINK: 2, GROW: 4, WRITE: 8 } as const;

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;

/** A memfd of `len` bytes that accepts seals (QEMU's memory-backend-memfd seals its RAM this way). */
export function sealableMemfd(name: string, len: number): number {
    const fd = memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw new SysError('memfd_create', errno());
    if (c.ftruncate(fd, len) < 0) {
        const e = errno();
        c.close(fd);
        throw new SysError('ftruncate', e);
    }
    return fd;
}

/** Adds memfd seals (F_ADD_SEALS); throws SysError when the fd does not take them. */
export function addSeals(fd: number, seals: number): void {
    if (fcntl(fd, F_ADD_SEALS, seals) < 0) throw new SysError('fcntl(F_ADD_SEALS)', errno());
}

/** The seals of a memfd, or -1 for an fd that has none to give (not a memfd, or not sealable). */
export function getSeals(fd: number): number {
    return fcntl(fd, F_GET_SEALS, 0);
}

/** Changes the size of a file (the hostile frontend shrinks guest memory under the switch). */
export function truncateFd(fd: number, len: number): void {
    if (c.ftruncate(fd, len) < 0) throw new SysError('ftruncate', errno());
}
