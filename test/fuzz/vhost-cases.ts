/**
 * What the hostile frontend sends: protocol messages mutated from what a
 * benign frontend would send (wrong sizes and flags, unknown requests,
 * missing, extra and wrong-kind fds), memory tables with overlapping,
 * zero, enormous or beyond-the-file regions, ring addresses outside every
 * region, and descriptor chains that loop, point outside guest memory,
 * carry zero or huge lengths or broken indirect tables, with avail indexes
 * running far ahead. Each generator returns what it did, for the report.
 */
import { signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { MAX_QUEUE_PAIRS } from '../../src/datapath/vhost-user/device.js';
import { VRING_NOFD } from '../../src/datapath/vhost-user/messages.js';
import { closeAll, openFd, randomFdKind } from './fd-zoo.js';
import { DriverRing, GuestMem, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../support/guest-ring.js';
import type { Rng } from '../support/rng.js';
import { Frontend } from '../support/vhost-frontend.js';
import {
    bit, F, FLAG_NEED_REPLY, FLAG_VERSION, GUEST_FEATURES, GUEST_PROTOCOL_FEATURES, memTable, message, Req, u64, vringAddr, vringState, type RegionDesc,
} from '../support/vhost-wire.js';

export const RING_NUM = 256;
/** Ring and buffer placement inside the region (offsets from its gpa). */
const RX_AT = 0x0000;
const TX_AT = 0x4000;
const BUF_AT = 0x10000;
const BUF_SIZE = 2048;

export interface Device {
    fe: Frontend;
    mem: GuestMem;
    rx: DriverRing;
    tx: DriverRing;
    /** Our ends of the kick eventfds (the backend got duplicates). */
    kick: [number, number];
    call: [number, number];
}

export function newDevice(fe: Frontend, mem: GuestMem): Device {
    const g = mem.layout.gpa;
    return {
        fe, mem,
        rx: DriverRing.at(mem, g + RX_AT, RING_NUM),
        tx: DriverRing.at(mem, g + TX_AT, RING_NUM),
        kick: [openFd('eventfd'), openFd('eventfd')],
        call: [openFd('eventfd'), openFd('eventfd')],
    };
}

export function closeDevice(d: Device): void {
    closeAll([...d.kick, ...d.call]);
    d.fe.close();
}

const region = (m: GuestMem): RegionDesc => ({ gpa: BigInt(m.layout.gpa), size: BigInt(m.layout.size), uva: BigInt(m.layout.uva), offset: BigInt(m.layout.canary) });

/**
 * The handshake QEMU does for one queue pair, pipelined: every request
 * asks for REPLY_ACK and the acks are collected at the end (one wait per
 * handshake instead of one per request). Returns why it failed, if it did.
 */
export async function establish(d: Device): Promise<string | undefined> {
    const { fe, mem } = d;
    const steps: [number, Uint8Array, number[]][] = [
        [Req.SET_FEATURES, u64(GUEST_FEATURES), []],
        [Req.SET_PROTOCOL_FEATURES, u64(GUEST_PROTOCOL_FEATURES), []],
        [Req.SET_OWNER, new Uint8Array(0), []],
        [Req.SET_MEM_TABLE, memTable([region(mem)]), [mem.fd]],
    ];
    for (const [i, r] of [[0, d.rx], [1, d.tx]] as const) {
        steps.push(
            [Req.SET_VRING_NUM, vringState(i, r.num), []],
            [Req.SET_VRING_ADDR, vringAddr(i, BigInt(mem.uvaOf(r.desc)), BigInt(mem.uvaOf(r.used)), BigInt(mem.uvaOf(r.avail))), []],
            [Req.SET_VRING_BASE, vringState(i, 0), []],
            [Req.SET_VRING_CALL, u64(BigInt(i)), [d.call[i]]],
            [Req.SET_VRING_KICK, u64(BigInt(i)), [d.kick[i]]],
            [Req.SET_VRING_ENABLE, vringState(i, 1), []],
        );
    }
    fe.pump();
    fe.replies.length = 0;
    // SET_FEATURES comes before REPLY_ACK is negotiated: it is never acked.
    for (const [k, [req, payload, fds]] of steps.entries()) {
        if (!(await fe.send(message(req, payload, k === 0 ? FLAG_VERSION : FLAG_VERSION | FLAG_NEED_REPLY), fds))) return `dropped at request ${req}`;
    }
    for (const [req] of steps.slice(1)) {
        const r = await fe.reply(req);
        if (!r) return `no ack for request ${req}`;
        const status = r.payload.length >= 8 ? new DataView(r.payload.buffer, r.payload.byteOffset).getBigUint64(0, true) : -1n;
        if (status !== 0n) return `request ${req} refused (status ${status})`;
    }
    return undefined;
}

/** Edge values for 64-bit address fields, relative to the device's region where that matters. */
function addr64(rng: Rng, m: GuestMem, len: number, kind: 'gpa' | 'uva'): bigint {
    const base = kind === 'gpa' ? m.layout.gpa : m.layout.uva;
    const end = base + m.layout.size;
    switch (rng.int(9)) {
        case 0: return BigInt(base + rng.int(m.layout.size - len));
        case 1: return BigInt(end - len + 1 + rng.int(16)); // straddles the end
        case 2: return BigInt(base - 1 - rng.int(4096)); // just before (the canary)
        case 3: return BigInt(end + rng.int(1 << 20));
        case 4: return 0n;
        case 5: return BigInt(base + rng.int(m.layout.size)) | 1n; // misaligned
        case 6: return 0xffff_ffff_ffff_ffffn - BigInt(rng.int(64)); // wraps
        case 7: return BigInt(kind === 'gpa' ? m.layout.uva : m.layout.gpa); // the other address space
        default: return rng.u64();
    }
}

function len32(rng: Rng): number {
    return rng.pick([0, 1, 11, 12, 13, 60, 64, 1514, 2048, 65535, 65536, 65600, 0x7fffffff, 0xffffffff, rng.u32()]);
}

/** One protocol message, mutated. */
export function protocolMessage(rng: Rng, d: Device, headerRate = 0.12): { bytes: Uint8Array; fds: number[]; owned: number[]; what: string } {
    const m = d.mem;
    const reqs = Object.values(Req) as number[];
    const request = rng.chance(0.85) ? rng.pick(reqs) : rng.pick([0, 26, 27, 32, 40, 41, 0x7fffffff, 0xffffffff, rng.u32()]);
    const vidx = () => rng.chance(0.7) ? rng.int(4) : rng.pick([2 * MAX_QUEUE_PAIRS - 1, 2 * MAX_QUEUE_PAIRS, 255, 256, 0xffffffff, rng.u32()]);
    let payload: Uint8Array;
    const owned: number[] = [];
    let fds: number[] = [];
    switch (request) {
        case Req.SET_FEATURES: case Req.SET_PROTOCOL_FEATURES: case Req.SET_LOG_BASE:
            payload = u64(rng.chance(0.5) ? rng.u64() : GUEST_FEATURES | (rng.chance(0.5) ? bit(rng.int(64)) : 0n));
            break;
        case Req.SET_VRING_NUM: case Req.SET_VRING_BASE: case Req.GET_VRING_BASE: case Req.SET_VRING_ENABLE:
            payload = vringState(vidx(), rng.pick([0, 1, 2, 3, 255, 256, 257, 32768, 65535, 65536, rng.u32()]));
            break;
        case Req.SET_VRING_ADDR: {
            const n = RING_NUM;
            payload = vringAddr(vidx(), addr64(rng, m, 16 * n, 'uva'), addr64(rng, m, 6 + 8 * n, 'uva'), addr64(rng, m, 6 + 2 * n, 'uva'), rng.chance(0.8) ? 0 : rng.u32(), rng.u64());
            break;
        }
        case Req.SET_VRING_KICK: case Req.SET_VRING_CALL: case Req.SET_VRING_ERR: {
            const lo = (rng.chance(0.8) ? vidx() & 0xff : rng.u32()) | (rng.chance(0.2) ? VRING_NOFD : 0);
            payload = u64(BigInt(lo) | (rng.chance(0.1) ? rng.u64() << 32n : 0n));
            const n = rng.pick([0, 1, 1, 1, 2, 3]);
            for (let i = 0; i < n; i++) owned.push(openFd(rng.chance(0.6) ? 'eventfd' : randomFdKind(rng)));
            fds = owned;
            break;
        }
        case Req.SET_MEM_TABLE: {
            const t = memTableAttack(rng, d);
            payload = t.payload;
            fds = t.fds;
            owned.push(...t.owned);
            break;
        }
        default:
            payload = rng.bytes(rng.pick([0, 0, 4, 8, 8, 40, 64, 200]));
            if (rng.chance(0.2)) { owned.push(openFd(randomFdKind(rng))); fds = owned; }
    }
    if (rng.chance(0.3)) payload = payload.subarray(0, rng.int(payload.length + 1));
    let flags = rng.chance(0.5) ? FLAG_VERSION | FLAG_NEED_REPLY : FLAG_VERSION;
    let size = payload.length;
    const hdr = rng.chance(headerRate) ? rng.int(4) : -1;
    if (hdr === 0) flags = rng.u32();
    else if (hdr === 1) flags = rng.pick([0, 2, 3, 5, 0x4, FLAG_VERSION | 0x4]);
    else if (hdr === 2) size = rng.pick([payload.length + 1, payload.length + 8, 4096, 4097, 65536, 0xffffffff]);
    else if (hdr === 3 && payload.length) size = rng.int(payload.length);
    return { bytes: message(request, payload, flags, size), fds, owned, what: `msg ${request} flags 0x${(flags >>> 0).toString(16)} size ${size}/${payload.length} fds ${fds.length}` };
}

/** SET_MEM_TABLE with hostile regions: count mismatches, overlaps, zero and enormous sizes, offsets and sizes past the file's end, fds of the wrong kind. */
export function memTableAttack(rng: Rng, d: Device): { payload: Uint8Array; fds: number[]; owned: number[]; what: string } {
    const m = d.mem;
    const good = region(m);
    const fileLen = BigInt(m.layout.canary + m.layout.size);
    const n = rng.pick([0, 1, 1, 1, 2, 2, 3, 8, 9]);
    const regions: RegionDesc[] = [];
    const fds: number[] = [];
    const owned: number[] = [];
    const whats: string[] = [];
    for (let i = 0; i < n; i++) {
        const r = { ...good };
        switch (rng.int(10)) {
            case 0: r.size = 0n; whats.push('zero'); break;
            case 1: r.size = rng.pick([fileLen, fileLen * 2n, 1n << 32n, (1n << 32n) + 4096n, 1n << 46n, 1n << 47n, 0xffff_ffff_ffff_f000n]); whats.push(`size ${r.size}`); break;
            case 2: r.offset = rng.pick([1n, 4095n, fileLen, fileLen + 4096n, 1n << 40n, 0xffff_ffff_ffff_f000n]); whats.push(`offset ${r.offset}`); break;
            case 3: r.gpa = rng.u64(); r.uva = rng.u64(); whats.push('addresses'); break;
            case 4: if (regions.length) { r.gpa = regions[0].gpa + 4096n; r.uva = regions[0].uva + 4096n; whats.push('overlap'); } break;
            case 5: r.gpa = 0xffff_ffff_ffff_f000n; whats.push('gpa wraps'); break;
            default: whats.push('good');
        }
        regions.push(r);
        const kind = rng.int(4);
        if (kind === 0) { const fd = openFd(randomFdKind(rng)); owned.push(fd); fds.push(fd); whats.push('fd-zoo'); } else if (kind !== 1 || i > 0) fds.push(m.fd);
    }
    if (rng.chance(0.15)) { const fd = openFd('eventfd'); owned.push(fd); fds.push(fd); whats.push('extra fd'); }
    if (rng.chance(0.1)) fds.length = Math.max(0, fds.length - 1);
    const nField = rng.chance(0.85) ? n : rng.pick([0, n + 1, 9, 0xffffffff]);
    return { payload: memTable(regions, nField), fds, owned, what: `mem table n=${nField} [${whats.join(',')}] fds ${fds.length}` };
}

/**
 * A descriptor chain on the TX ring that breaks one rule, then a kick.
 * Writes only inside our own region (the attack is in the values).
 */
export const TX_ATTACKS = ['self loop', 'two-descriptor loop', 'ring-long chain', 'address/length edge', 'next out of range', 'write-only buffer', 'indirect', 'indirect', 'oversize frame', 'short frame', 'avail idx far ahead', 'head out of range'] as const;
export const INDIRECT_ATTACKS = ['bad length', 'table outside memory', 'nested', 'with next', 'loop inside table', 'next beyond table', 'huge table'] as const;

/** `kind` indexes TX_ATTACKS (random when absent); `indirect` indexes INDIRECT_ATTACKS. */
export function txRingAttack(rng: Rng, d: Device, kind = rng.int(TX_ATTACKS.length), indirect?: number): string {
    const { tx, mem } = d;
    const g = mem.layout.gpa;
    const buf = (i: number) => g + BUF_AT + (i % 200) * BUF_SIZE;
    const head = rng.int(RING_NUM);
    let what: string;
    switch (kind) {
        case 0: tx.writeDesc(head, buf(head), 64, VIRTQ_DESC_F_NEXT, head); what = 'self loop'; break;
        case 1: {
            const a = head;
            const b = (head + 1) % RING_NUM;
            tx.writeDesc(a, buf(a), 64, VIRTQ_DESC_F_NEXT, b);
            tx.writeDesc(b, buf(b), 64, VIRTQ_DESC_F_NEXT, a);
            what = 'two-descriptor loop';
            break;
        }
        case 2: {
            for (let i = 0; i < RING_NUM; i++) tx.writeDesc(i, buf(i), 8, VIRTQ_DESC_F_NEXT, (i + 1) % RING_NUM);
            what = 'ring-long chain';
            break;
        }
        case 3: tx.writeDesc(head, addr64(rng, mem, 64, 'gpa'), len32(rng), rng.chance(0.3) ? VIRTQ_DESC_F_NEXT : 0, rng.int(RING_NUM + 8)); what = 'address/length edge'; break;
        case 4: tx.writeDesc(head, buf(head), 64, VIRTQ_DESC_F_NEXT, RING_NUM + rng.int(65536 - RING_NUM)); what = 'next out of range'; break;
        case 5: tx.writeDesc(head, buf(head), 64, VIRTQ_DESC_F_WRITE, 0); what = 'write-only buffer on tx'; break;
        case 6: case 7: what = indirectAttack(rng, d, head, buf(head + 1), indirect); break;
        case 8: {
            // A frame longer than any scratch buffer: 60 × 2 KiB.
            for (let i = 0; i < 60; i++) tx.writeDesc((head + i) % RING_NUM, buf(i), BUF_SIZE, i < 59 ? VIRTQ_DESC_F_NEXT : 0, (head + i + 1) % RING_NUM);
            what = 'oversize frame';
            break;
        }
        case 9: tx.writeDesc(head, buf(head), rng.pick([0, 1, 11, 12]), 0, 0); what = 'short frame'; break;
        case 10: {
            tx.setAvailIdx(tx.availIdx + rng.range(RING_NUM + 1, 65535));
            signalEventfd(d.kick[1]);
            return 'avail idx far ahead';
        }
        default: {
            const h = rng.pick([RING_NUM, RING_NUM + 1, 0x7fff, 0xffff]);
            tx.post(h);
            signalEventfd(d.kick[1]);
            return `head ${h} out of range`;
        }
    }
    tx.post(head);
    signalEventfd(d.kick[1]);
    return `tx ${what}`;
}

/** An indirect descriptor that breaks one rule of indirect tables. */
function indirectAttack(rng: Rng, d: Device, head: number, table: number, kind = rng.int(INDIRECT_ATTACKS.length)): string {
    const { tx, mem } = d;
    const entries = 4;
    for (let i = 0; i < entries; i++) tx.writeDescAt(table + 16 * i, table + 1024, 64, i < entries - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    switch (kind) {
        case 0: tx.writeDesc(head, table, rng.pick([0, 1, 15, 17]), VIRTQ_DESC_F_INDIRECT, 0); return 'indirect bad length';
        case 1: tx.writeDesc(head, addr64(rng, mem, 64, 'gpa'), 16 * entries, VIRTQ_DESC_F_INDIRECT, 0); return 'indirect table outside memory';
        case 2: tx.writeDescAt(table + 16, table, 64, VIRTQ_DESC_F_INDIRECT, 0); tx.writeDesc(head, table, 16 * entries, VIRTQ_DESC_F_INDIRECT, 0); return 'nested indirect';
        case 3: tx.writeDesc(head, table, 16 * entries, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, head); return 'indirect with next';
        case 4: tx.writeDescAt(table + 16 * 2, table + 1024, 64, VIRTQ_DESC_F_NEXT, 0); tx.writeDesc(head, table, 16 * entries, VIRTQ_DESC_F_INDIRECT, 0); return 'loop inside indirect table';
        case 5: tx.writeDescAt(table, table + 1024, 64, VIRTQ_DESC_F_NEXT, 200); tx.writeDesc(head, table, 16 * entries, VIRTQ_DESC_F_INDIRECT, 0); return 'indirect next beyond table';
        default: tx.writeDesc(head, table, 0xfffffff0, VIRTQ_DESC_F_INDIRECT, 0); return 'indirect huge table';
    }
}

/** Hostile RX buffers on the victim; a benign frame from `sender` makes the switch use them. */
export function rxRingAttack(rng: Rng, d: Device, sender: Device): string {
    const { rx, mem } = d;
    const g = mem.layout.gpa;
    const head = rng.int(RING_NUM);
    let what: string;
    switch (rng.int(6)) {
        case 0: rx.writeDesc(head, g + BUF_AT, 2048, 0, 0); what = 'read-only rx buffer'; break;
        case 1: rx.writeDesc(head, addr64(rng, mem, 2048, 'gpa'), len32(rng), VIRTQ_DESC_F_WRITE, 0); what = 'rx address/length edge'; break;
        case 2: rx.writeDesc(head, g + BUF_AT, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, head); what = 'rx loop'; break;
        case 3: rx.writeDesc(head, g + BUF_AT, rng.pick([1, 4, 11]), VIRTQ_DESC_F_WRITE, 0); what = 'rx buffer too small'; break;
        case 4: rx.setAvailIdx(rx.availIdx + rng.range(RING_NUM + 1, 65535)); what = 'rx avail idx far ahead'; break;
        default: rx.writeDesc(head, g + BUF_AT, 2048, VIRTQ_DESC_F_WRITE, 0); what = 'rx good buffer'; break;
    }
    if (!what.includes('avail idx')) rx.post(head);
    sendFrame(sender);
    return what;
}

let senderSeq = 0;

/** A benign broadcast frame from `s` (keeps its ring from overrunning). */
export function sendFrame(s: Device): boolean {
    const { tx, mem } = s;
    s.tx.reap();
    if (((tx.availIdx - tx.lastUsed) & 0xffff) >= RING_NUM) return false;
    const i = senderSeq++ % RING_NUM;
    const at = mem.layout.gpa + BUF_AT + i * BUF_SIZE;
    const o = mem.off(at);
    mem.u8.fill(0, o, o + 12 + 64);
    mem.u8.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01, 0x88, 0xb5], o + 12);
    tx.writeDesc(i, at, 12 + 64, 0, 0);
    tx.post(i);
    signalEventfd(s.kick[1]);
    return true;
}

/** Keeps the sender's RX ring stocked so frames flooded to it are taken, not backlogged. */
export function refillRx(s: Device): void {
    const { rx, mem } = s;
    rx.reap();
    while (((rx.availIdx - rx.lastUsed) & 0xffff) < RING_NUM) {
        const i = rx.availIdx % RING_NUM;
        rx.writeDesc(i, mem.layout.gpa + BUF_AT + 0x80000 / 2 + (i % 100) * BUF_SIZE, BUF_SIZE, VIRTQ_DESC_F_WRITE, 0);
        rx.post(i);
    }
}

/** Rings placed where they must be refused: outside the region, straddling its end, over the canary, misaligned. */
export function vringPlacementAttack(rng: Rng, d: Device): { bytes: Uint8Array[]; what: string } {
    const m = d.mem;
    const i = rng.int(2);
    const out: Uint8Array[] = [];
    const num = rng.pick([RING_NUM, 32768, 1, 2]);
    out.push(message(Req.SET_VRING_NUM, vringState(i, num)));
    const pick = () => addr64(rng, m, 16 * num, 'uva');
    out.push(message(Req.SET_VRING_ADDR, vringAddr(i, pick(), pick(), pick())));
    out.push(message(Req.SET_VRING_KICK, u64(BigInt(i) | BigInt(VRING_NOFD))));
    return { bytes: out, what: `vring ${i} num ${num} placed at edges` };
}

/** The switch maps a region larger than its file; rings then sit past the end of the file. */
export function beyondEofAttack(d: Device): { bytes: Uint8Array; fds: number[]; ring: Uint8Array; what: string } {
    const m = d.mem;
    const r = region(m);
    r.size *= 4n;
    const past = BigInt(m.layout.uva + m.layout.size + 0x10000);
    return {
        bytes: message(Req.SET_MEM_TABLE, memTable([r])),
        fds: [m.fd],
        ring: message(Req.SET_VRING_ADDR, vringAddr(1, past, past + 0x2000n, past + 0x1000n)),
        what: 'region 4x its file, ring past the end of the file',
    };
}

export { F };
