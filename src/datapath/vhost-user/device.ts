/**
 * The backend side of one vhost-user connection for a virtio-net device:
 * feature negotiation, the memory table and the vrings' life cycle. Every
 * field of every message is validated; a bad message fails that request
 * (REPLY_ACK) and a bad ring fails only this device, never the process.
 */
import { LIMITS, vringSizeOk } from '../../core/limits.js';
import { closeFd } from '../sys/unix-socket.js';
import { guestArena } from '../sys/arena.js';
import { mapShared } from '../sys/memory.js';
import { FdWatch, isEventfd, watchReadable } from '../sys/eventfd.js';
import { GuestMemory, regionFromBuffer, type Region } from '../virtio/guest-memory.js';
import { createRing, ringAreaBytes, type Ring } from '../virtio/ring.js';
import { ringErrorText } from '../virtio/split-ring.js';
import {
    bit,
    encodeReply,
    F,
    FLAG_NEED_REPLY,
    has,
    type Message,
    PF,
    Req,
    reqName,
    stateBytes,
    SUPPORTED_FEATURES,
    SUPPORTED_PROTOCOL_FEATURES,
    u64Payload,
    VRING_NOFD,
} from './messages.js';

export const MAX_QUEUE_PAIRS = 8;

/** The payload a request must carry: exactly `exact` bytes, or at least `min`. */
export type PayloadSize = { exact: number } | { min: number };
/**
 * The fds a request may carry: none; exactly one; for SET_VRING_KICK/CALL/ERR
 * one unless the payload sets VRING_NOFD, then none; one per memory region.
 */
export type FdRule = 'none' | 'one' | 'vring' | 'regions';

export interface MessageHandler {
    size: PayloadSize;
    fds: FdRule;
    /** Runs after the size and fd checks; a reply payload, or whether it succeeded (REPLY_ACK). */
    run(d: VhostUserDevice, m: Message, dv: DataView): Uint8Array | boolean;
}

/** A message refused before its handler ran: logged as it is. */
class Refused extends Error {}

export function sizeError(size: PayloadSize, len: number): string | undefined {
    if ('exact' in size) return len === size.exact ? undefined : `payload ${len} bytes, expected ${size.exact}`;
    return len >= size.min ? undefined : `payload ${len} bytes, expected at least ${size.min}`;
}

/** How many fds a request with this (size-checked) payload must carry. */
export function expectedFds(rule: FdRule, dv: DataView): number {
    switch (rule) {
        case 'none': return 0;
        case 'one': return 1;
        case 'vring': return dv.getUint32(0, true) & VRING_NOFD ? 0 : 1;
        case 'regions': return dv.getUint32(0, true);
    }
}

function fdsError(rule: FdRule, dv: DataView, got: number): string | undefined {
    const want = expectedFds(rule, dv);
    return got === want ? undefined : `${got} fds attached, expected ${want}`;
}

export class Vring {
    num = 0;
    /** Frontend user addresses from SET_VRING_ADDR. */
    descUva = -1;
    availUva = -1;
    usedUva = -1;
    base = 0;
    kickFd = -1;
    /** SET_VRING_KICK with the no-fd flag: the frontend never kicks, always poll. */
    noKick = false;
    callFd = -1;
    errFd = -1;
    enabled = false;
    /** Between SET_VRING_KICK and GET_VRING_BASE. */
    started = false;
    ring: Ring | undefined;
    kickWatch: FdWatch | undefined;

    constructor(readonly index: number) {}
}

export interface DeviceOwner {
    /** Rings started/stopped/enabled, memory remapped, features changed. */
    onRingsChanged(): void;
    onKick(vring: number): void;
    log(msg: string): void;
}

export class VhostUserDevice {
    features = 0n;
    protocolFeatures = 0n;
    mem: GuestMemory | undefined;
    readonly vrings: Vring[] = [];
    failed: string | undefined;
    /** Messages seen by type, for status/debugging. */
    readonly seen = new Map<string, number>();

    constructor(
        private readonly owner: DeviceOwner,
        readonly maxQueuePairs: number,
    ) {
        for (let i = 0; i < 2 * MAX_QUEUE_PAIRS; i++) this.vrings.push(new Vring(i));
    }

    get hdrLen(): number {
        return has(this.features, F.VERSION_1) || has(this.features, F.MRG_RXBUF) ? 12 : 10;
    }

    get mergeable(): boolean {
        return has(this.features, F.MRG_RXBUF);
    }

    private get protocolNegotiated(): boolean {
        return has(this.features, F.PROTOCOL_FEATURES);
    }

    /** A ring the datapath may use now. */
    active(i: number): Ring | undefined {
        const v = this.vrings[i];
        if (!v || !v.started || this.failed) return undefined;
        if (this.protocolNegotiated && !v.enabled) return undefined;
        return v.ring;
    }

    /** Marks the device failed (bad ring or memory); the switch stops using it. */
    fail(reason: string): void {
        if (this.failed) return;
        this.failed = reason;
        this.owner.log(`device failed: ${reason}`);
        this.owner.onRingsChanged();
    }

    /**
     * What each request carries and who handles it, in the shape of DPDK's
     * VHOST_MESSAGE_HANDLERS and rust-vmm's typed messages: the payload
     * size (exact, or a minimum for SET_MEM_TABLE, whose regions follow)
     * and the fds it takes. A request missing here is refused.
     */
    static readonly handlers: ReadonlyMap<number, MessageHandler> = new Map<number, MessageHandler>([
        [Req.GET_FEATURES, { size: { exact: 0 }, fds: 'none', run: () => u64Payload(SUPPORTED_FEATURES) }],
        [Req.SET_FEATURES, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.setFeatures(dv) }],
        [Req.SET_OWNER, { size: { exact: 0 }, fds: 'none', run: () => true }],
        [Req.RESET_OWNER, { size: { exact: 0 }, fds: 'none', run: (d) => (d.reset(), true) }],
        [Req.SET_MEM_TABLE, { size: { min: 8 }, fds: 'regions', run: (d, m, dv) => d.setMemTable(m, dv) }],
        // LOG_ALL (live migration dirty logging) is not offered: refused, fd closed.
        [Req.SET_LOG_BASE, { size: { exact: 16 }, fds: 'one', run: () => false }],
        [Req.SET_LOG_FD, { size: { exact: 0 }, fds: 'one', run: () => false }],
        [Req.SET_VRING_NUM, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.setVringNum(dv) }],
        [Req.SET_VRING_ADDR, { size: { exact: 40 }, fds: 'none', run: (d, _m, dv) => d.setVringAddr(dv) }],
        [Req.SET_VRING_BASE, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.setVringBase(dv) }],
        [Req.GET_VRING_BASE, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.getVringBase(dv) }],
        [Req.SET_VRING_KICK, { size: { exact: 8 }, fds: 'vring', run: (d, m, dv) => d.setVringFd(m, dv) }],
        [Req.SET_VRING_CALL, { size: { exact: 8 }, fds: 'vring', run: (d, m, dv) => d.setVringFd(m, dv) }],
        [Req.SET_VRING_ERR, { size: { exact: 8 }, fds: 'vring', run: (d, m, dv) => d.setVringFd(m, dv) }],
        [Req.GET_PROTOCOL_FEATURES, { size: { exact: 0 }, fds: 'none', run: () => u64Payload(SUPPORTED_PROTOCOL_FEATURES) }],
        [Req.SET_PROTOCOL_FEATURES, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.setProtocolFeatures(dv) }],
        [Req.GET_QUEUE_NUM, { size: { exact: 0 }, fds: 'none', run: (d) => u64Payload(BigInt(d.maxQueuePairs)) }],
        [Req.SET_VRING_ENABLE, { size: { exact: 8 }, fds: 'none', run: (d, _m, dv) => d.setVringEnable(dv) }],
        // Accepted and ignored: the switch learns MACs from traffic, the
        // bridge sets the MTU, and VERSION_1 rings are little-endian.
        [Req.SEND_RARP, { size: { exact: 8 }, fds: 'none', run: () => true }],
        [Req.NET_SET_MTU, { size: { exact: 8 }, fds: 'none', run: () => true }],
        [Req.SET_VRING_ENDIAN, { size: { exact: 8 }, fds: 'none', run: () => true }],
    ]);

    /**
     * Handles one message; returns the reply bytes, if any. The payload
     * size and the fds it carries are checked against the message's entry
     * in MESSAGE_HANDLERS before its handler runs: a message without an
     * entry, of the wrong size or with fds it does not take is refused
     * here, never reaches a handler, and its fds are closed.
     */
    handle(m: Message): Uint8Array | undefined {
        const name = reqName(m.request);
        this.seen.set(name, (this.seen.get(name) ?? 0) + 1);
        let reply: Uint8Array | undefined;
        let ok = true;
        try {
            const h = VhostUserDevice.handlers.get(m.request);
            if (!h) throw new Refused(`unsupported request ${name} (${m.request}), ${m.payload.length} bytes: refused`);
            const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
            const bad = sizeError(h.size, m.payload.length) ?? fdsError(h.fds, dv, m.fds.length);
            if (bad) throw new Refused(`${name}: ${bad}: refused`);
            const r = h.run(this, m, dv);
            if (r instanceof Uint8Array) reply = r;
            else ok = r;
        } catch (e) {
            ok = false;
            this.owner.log(e instanceof Refused ? e.message : `${name}: ${(e as Error).message}`);
        } finally {
            // Fds a message carried but we did not keep are closed (never leaked).
            for (const fd of m.fds) if (fd >= 0) closeFd(fd);
        }
        if (reply) return encodeReply(m.request, reply);
        const wantsAck = (m.flags & FLAG_NEED_REPLY) !== 0 && has(this.protocolFeatures, PF.REPLY_ACK);
        if (wantsAck) return encodeReply(m.request, u64Payload(ok ? 0n : 1n));
        return undefined;
    }

    /** Takes ownership of fd i of the message (the table checked it is there). */
    private takeFd(m: Message, i = 0): number {
        const fd = m.fds[i];
        if (fd === undefined || fd < 0) throw new Error('expected a file descriptor');
        m.fds[i] = -1;
        return fd;
    }

    private setFeatures(dv: DataView): boolean {
        const f = dv.getBigUint64(0, true);
        if ((f & ~SUPPORTED_FEATURES) !== 0n) throw new Error(`unsupported features 0x${f.toString(16)}`);
        this.features = f;
        for (const v of this.vrings) {
            if (v.ring && v.ring.packed !== has(f, F.RING_PACKED)) this.startRing(v);
            if (v.ring) v.ring.eventIdx = has(f, F.RING_EVENT_IDX);
        }
        this.owner.onRingsChanged();
        return true;
    }

    private setProtocolFeatures(dv: DataView): boolean {
        this.protocolFeatures = dv.getBigUint64(0, true) & SUPPORTED_PROTOCOL_FEATURES;
        return true;
    }

    private setVringNum(dv: DataView): boolean {
        const v = this.vring(dv);
        const num = dv.getUint32(4, true);
        if (!vringSizeOk(num, LIMITS.embedded.vring)) throw new Error(`vring size ${num} is not a power of two ≤ ${LIMITS.embedded.vring.max}`);
        v.num = num;
        return true;
    }

    private setVringAddr(dv: DataView): boolean {
        const v = this.vring(dv);
        v.descUva = Number(dv.getBigUint64(8, true));
        v.usedUva = Number(dv.getBigUint64(16, true));
        v.availUva = Number(dv.getBigUint64(24, true));
        if (v.started) this.startRing(v);
        return true;
    }

    private setVringBase(dv: DataView): boolean {
        // Packed rings carry wrap counters (and QEMU the used index) above bit 14: the ring decodes its own.
        this.vring(dv).base = dv.getUint32(4, true);
        return true;
    }

    private getVringBase(dv: DataView): Uint8Array {
        const v = this.vring(dv);
        const base = v.ring ? v.ring.base() : v.base;
        this.stopRing(v);
        v.base = base;
        this.owner.onRingsChanged();
        return stateBytes(v.index, base);
    }

    /** SET_VRING_KICK, _CALL and _ERR: an eventfd, or none with VRING_NOFD. */
    private setVringFd(m: Message, dv: DataView): boolean {
        const lo = dv.getUint32(0, true);
        const idx = lo & 0xff;
        const v = this.vrings[idx];
        if (!v || idx >= 2 * this.maxQueuePairs) throw new Error(`vring index ${idx} out of range`);
        if (!(lo & VRING_NOFD) && !isEventfd(m.fds[0])) throw new Error('the fd is not an eventfd');
        const fd = lo & VRING_NOFD ? -1 : this.takeFd(m);
        if (m.request === Req.SET_VRING_CALL) {
            closeFd(v.callFd);
            v.callFd = fd;
        } else if (m.request === Req.SET_VRING_ERR) {
            closeFd(v.errFd);
            v.errFd = fd;
        } else {
            v.kickWatch?.close();
            v.kickWatch = undefined;
            closeFd(v.kickFd);
            v.kickFd = fd;
            v.noKick = fd < 0;
            if (fd >= 0) v.kickWatch = watchReadable(fd, () => this.owner.onKick(idx));
            this.startRing(v);
            this.owner.onRingsChanged();
        }
        return true;
    }

    private setVringEnable(dv: DataView): boolean {
        this.vring(dv).enabled = dv.getUint32(4, true) !== 0;
        this.owner.onRingsChanged();
        return true;
    }

    private vring(dv: DataView): Vring {
        const idx = dv.getUint32(0, true);
        if (idx >= 2 * this.maxQueuePairs) throw new Error(`vring index ${idx} ≥ ${2 * this.maxQueuePairs}`);
        return this.vrings[idx];
    }

    private setMemTable(m: Message, dv: DataView): boolean {
        const n = dv.getUint32(0, true);
        if (n === 0 || n > 8 || m.payload.length < 8 + 32 * n) throw new Error(`SET_MEM_TABLE with ${n} regions in ${m.payload.length} bytes`);
        const regions: Region[] = [];
        try {
            for (let i = 0; i < n; i++) {
                const o = 8 + 32 * i;
                const gpa = Number(dv.getBigUint64(o, true));
                const size = Number(dv.getBigUint64(o + 8, true));
                const uva = Number(dv.getBigUint64(o + 16, true));
                const mmapOffset = Number(dv.getBigUint64(o + 24, true));
                if (size <= 0 || size > 2 ** 46 || mmapOffset % 4096 !== 0 || mmapOffset > 2 ** 46) throw new Error(`bad region ${i}: size ${size} offset ${mmapOffset}`);
                // Address arithmetic is in doubles: past 2^53 a check can pass
                // for an offset beyond the mapping (fuzz finding).
                if (gpa + size > Number.MAX_SAFE_INTEGER || uva + size > Number.MAX_SAFE_INTEGER) throw new Error(`bad region ${i}: addresses above 2^53`);
                const fd = this.takeFd(m, i);
                try {
                    // Only the region itself: its offset in the file may be gigabytes in.
                    const arena = guestArena((msg) => this.owner.log(msg));
                    let map = arena?.map(fd, size, mmapOffset);
                    if (!map) {
                        // Throws with the reason when the fd cannot back the region at all.
                        map = mapShared(fd, size, mmapOffset);
                        if (arena) {
                            const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
                            this.owner.log(`region ${i} (${mib(size)}) does not fit the guest memory arena (${mib(arena.size - arena.used)} of ${mib(arena.size)} free): mapped on its own, so frames over 256 bytes to or from this guest are copied through a view (slower)`);
                        }
                    }
                    regions.push(regionFromBuffer(map.buffer, map.addr - map.base, gpa, size, uva, map.base, map));
                } finally {
                    closeFd(fd);
                }
            }
        } catch (e) {
            for (const r of regions) r.mapping?.unmap();
            throw e;
        }
        const old = this.mem;
        this.mem = new GuestMemory(regions);
        // Hot update: re-point running rings at the new mappings before the
        // old ones go away (nothing else keeps views across calls).
        try {
            for (const v of this.vrings) if (v.started) this.startRing(v, true);
        } catch (e) {
            // A ring left on the old mapping must never be used once it is unmapped.
            this.fail(`memory table: ${(e as Error).message}`);
        } finally {
            old?.unmapAll();
        }
        this.owner.log(`memory table: ${regions.map((r) => `gpa 0x${r.gpa.toString(16)} size 0x${r.size.toString(16)}`).join(', ')}`);
        this.owner.onRingsChanged();
        return true;
    }

    private gpaOf(uva: number, len: number): number {
        const mem = this.mem!;
        const i = mem.findUva(uva, len);
        if (i < 0) return -1;
        const r = mem.regions[i];
        return r.gpa + (uva - r.uva);
    }

    /** (Re)builds the ring views; on a remap keeps the ring's indexes. */
    private startRing(v: Vring, remap = false): void {
        v.started = true;
        if (!this.mem || v.num === 0 || v.descUva < 0) {
            v.ring = undefined;
            return; // started once memory and addresses arrive
        }
        const num = v.num;
        const packed = has(this.features, F.RING_PACKED);
        const bytes = ringAreaBytes(num, packed);
        const a = { desc: this.gpaOf(v.descUva, bytes.desc), avail: this.gpaOf(v.availUva, bytes.avail), used: this.gpaOf(v.usedUva, bytes.used) };
        if (a.desc < 0 || a.avail < 0 || a.used < 0) {
            this.fail(`vring ${v.index}: ring addresses outside the memory table`);
            return;
        }
        if (remap && v.ring && v.ring.num === num && v.ring.packed === packed) {
            const e = v.ring.map(this.mem, a);
            if (e !== 0) this.fail(`vring ${v.index}: ${ringErrorText(e)}`);
            return;
        }
        const r = createRing(this.mem, num, a, packed);
        if (typeof r === 'number') {
            this.fail(`vring ${v.index}: ${ringErrorText(r)}`);
            return;
        }
        r.setBase(v.base);
        r.eventIdx = has(this.features, F.RING_EVENT_IDX);
        v.ring = r;
    }

    private stopRing(v: Vring): void {
        v.started = false;
        v.ring = undefined;
        v.kickWatch?.close();
        v.kickWatch = undefined;
        closeFd(v.kickFd);
        v.kickFd = -1;
    }

    /** Back to the state of a fresh connection: rings stopped, fds closed, memory unmapped. */
    reset(): void {
        for (const v of this.vrings) {
            this.stopRing(v);
            closeFd(v.callFd);
            closeFd(v.errFd);
            v.callFd = -1;
            v.errFd = -1;
            v.enabled = false;
            v.num = 0;
            v.descUva = v.availUva = v.usedUva = -1;
            v.base = 0;
        }
        this.owner.onRingsChanged();
        this.mem?.unmapAll();
        this.mem = undefined;
        this.features = 0n;
        this.protocolFeatures = 0n;
        this.failed = undefined;
    }

    featureBits(): bigint {
        return this.features & ~bit(F.PROTOCOL_FEATURES) | (this.features & bit(F.PROTOCOL_FEATURES));
    }
}

/** The handler table (message id → size, fds, handler); see VhostUserDevice.handlers. */
export const MESSAGE_HANDLERS = VhostUserDevice.handlers;
