/** Host network devices: multi-queue taps and af_packet sockets with fanout. */
import { c, check, errno, E, SysError } from './libc.js';

const O_RDWR = 2;
const O_NONBLOCK = 0x800;
const O_CLOEXEC = 0x80000;
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_MULTI_QUEUE = 0x0100;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFMTU = 0x8922;
const IFF_UP = 1;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const ETH_P_ALL_BE = 0x0300;
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_MR_PROMISC = 1;
const PACKET_FANOUT = 18;
const PACKET_FANOUT_HASH = 0;
const PACKET_IGNORE_OUTGOING = 23;

function ifreq(name: string): Buffer {
    const b = Buffer.alloc(40);
    const n = Buffer.from(name);
    if (n.length === 0 || n.length > 15) throw new SysError(`interface name '${name}' must be 1-15 bytes`, 22);
    n.copy(b, 0);
    return b;
}

/** Opens (creating if needed) tap `name` with one non-blocking fd per queue. */
export function openTapQueues(name: string, queues: number): number[] {
    const fds: number[] = [];
    try {
        for (let q = 0; q < queues; q++) {
            const fd = check('open /dev/net/tun', c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0));
            fds.push(fd);
            const req = ifreq(name);
            req.writeUInt16LE(IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE, 16);
            check(`TUNSETIFF ${name}`, c.ioctl(fd, TUNSETIFF, req));
        }
        return fds;
    } catch (e) {
        for (const fd of fds) c.close(fd);
        throw e;
    }
}

/** Sets the link up and, when given, its MTU. */
export function setLinkUp(name: string, mtu?: number): void {
    const s = check('socket', c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    try {
        if (mtu) {
            const m = ifreq(name);
            m.writeInt32LE(mtu, 16);
            check(`SIOCSIFMTU ${name}`, c.ioctl(s, SIOCSIFMTU, m));
        }
        const r = ifreq(name);
        check(`SIOCGIFFLAGS ${name}`, c.ioctl(s, SIOCGIFFLAGS, r));
        r.writeUInt16LE(r.readUInt16LE(16) | IFF_UP, 16);
        check(`SIOCSIFFLAGS ${name}`, c.ioctl(s, SIOCSIFFLAGS, r));
    } finally {
        c.close(s);
    }
}

export function ifIndex(name: string): number {
    const i = c.ifNametoindex(name);
    if (!i) throw new SysError(`no interface '${name}'`, errno() || E.ENOENT);
    return i;
}

/**
 * `queues` raw sockets on `iface` joined in one PACKET_FANOUT_HASH group,
 * so the kernel spreads flows across them like RSS; promiscuous, and blind
 * to what we send ourselves (PACKET_IGNORE_OUTGOING) so nothing loops.
 */
export function openAfPacketQueues(iface: string, queues: number, groupId: number): number[] {
    const index = ifIndex(iface);
    const fds: number[] = [];
    try {
        for (let q = 0; q < queues; q++) {
            const fd = check('socket AF_PACKET', c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ETH_P_ALL_BE));
            fds.push(fd);
            const sll = Buffer.alloc(20);
            sll.writeUInt16LE(AF_PACKET, 0);
            sll.writeUInt16LE(ETH_P_ALL_BE, 2);
            sll.writeInt32LE(index, 4);
            check(`bind AF_PACKET ${iface}`, c.bind(fd, sll, 20));
            const one = Buffer.alloc(4);
            one.writeInt32LE(1, 0);
            check('PACKET_IGNORE_OUTGOING', c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4));
            const mreq = Buffer.alloc(16);
            mreq.writeInt32LE(index, 0);
            mreq.writeUInt16LE(PACKET_MR_PROMISC, 4);
            check('PACKET_ADD_MEMBERSHIP', c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, 16));
            const fan = Buffer.alloc(4);
            fan.writeInt32LE((groupId & 0xffff) | (PACKET_FANOUT_HASH << 16), 0);
            check('PACKET_FANOUT', c.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, fan, 4));
        }
        return fds;
    } catch (e) {
        for (const fd of fds) c.close(fd);
        throw e;
    }
}

/** Reads one frame into native memory at `addr`; -1 when none is waiting. */
export function readFrame(fd: number, addr: number, cap: number): number {
    const n = Number(c.readAt(fd, addr, cap));
    if (n >= 0) return n;
    const e = errno();
    if (e === E.EAGAIN || e === E.EINTR) return -1;
    throw new SysError('read frame', e);
}

/** Writes one frame from native memory; false when the device would block. */
export function writeFrame(fd: number, addr: number, len: number): boolean {
    return Number(c.writeAt(fd, addr, len)) === len;
}

/** Pins this process (all its threads) to `cores`. */
export function setAffinity(cores: number[]): void {
    const mask = Buffer.alloc(128);
    for (const core of cores) mask[core >> 3] |= 1 << (core & 7);
    check('sched_setaffinity', c.schedSetaffinity(0, 128, mask));
}
