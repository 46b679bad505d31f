/**
 * The backend side of one vhost-user connection for a virtio-net device:
 * feature negotiation, the memory table and the vrings' life cycle. Every
 * field of every message is validated; a bad message fails that request
 * (REPLY_ACK) and a bad ring fails only this device, never the process.
 */
import { closeFd } from '../sys/unix-socket.js';
import { guestArena } from '../sys/arena.js';
import { mapShared } from '../sys/memory.js';
import { FdWatch, isEventfd, watchReadable } from '../sys/eventfd.js';
import { GuestMemory, regionFromBuffer, type Region } from '../virtio/guest-memory.js';
import { ringErrorText, SplitRing } from '../virtio/split-ring.js';
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
    ring: SplitRing | undefined;
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
    active(i: number): SplitRing | undefined {
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

    /** Handles one message; returns the reply bytes, if any. */
    handle(m: Message): Uint8Array | undefined {
        const name = reqName(m.request);
        this.seen.set(name, (this.seen.get(name) ?? 0) + 1);
        let reply: Uint8Array | undefined;
        let ok = true;
        try {
            const r = this.dispatch(m);
            if (r instanceof Uint8Array) reply = r;
            else ok = r;
        } catch (e) {
            ok = false;
            this.owner.log(`${name}: ${(e as Error).message}`);
        } finally {
            // Fds a message carried but we did not keep are closed (never leaked).
            for (const fd of m.fds) if (fd >= 0) closeFd(fd);
        }
        if (reply) return encodeReply(m.request, reply);
        const wantsAck = (m.flags & FLAG_NEED_REPLY) !== 0 && has(this.protocolFeatures, PF.REPLY_ACK);
        if (wantsAck) return encodeReply(m.request, u64Payload(ok ? 0n : 1n));
        return undefined;
    }

    /** Takes ownership of fd i of the message. */
    private takeFd(m: Message, i = 0): number {
        const fd = m.fds[i];
        if (fd === undefined || fd < 0) throw new Error('expected a file descriptor');
        m.fds[i] = -1;
        return fd;
    }

    private dispatch(m: Message): Uint8Array | boolean {
        const p = m.payload;
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const need = (n: number) => {
            if (p.length < n) throw new Error(`payload ${p.length} bytes, expected ${n}`);
        };
        switch (m.request) {
            case Req.GET_FEATURES:
                return u64Payload(SUPPORTED_FEATURES);
            case Req.SET_FEATURES: {
                need(8);
                const f = dv.getBigUint64(0, true);
                if ((f & ~SUPPORTED_FEATURES) !== 0n) throw new Error(`unsupported features 0x${f.toString(16)}`);
                this.features = f;
                for (const v of this.vrings) if (v.ring) v.ring.eventIdx = has(f, F.RING_EVENT_IDX);
                this.owner.onRingsChanged();
                return true;
            }
            case Req.GET_PROTOCOL_FEATURES:
                return u64Payload(SUPPORTED_PROTOCOL_FEATURES);
            case Req.SET_PROTOCOL_FEATURES: {
                need(8);
                this.protocolFeatures = dv.getBigUint64(0, true) & SUPPORTED_PROTOCOL_FEATURES;
                return true;
            }
            case Req.GET_QUEUE_NUM:
                return u64Payload(BigInt(this.maxQueuePairs));
            case Req.SET_OWNER:
                return true;
            case Req.RESET_OWNER:
                this.reset();
                return true;
            case Req.SET_MEM_TABLE:
                this.setMemTable(m, dv);
                return true;
            case Req.SET_VRING_NUM: {
                const v = this.vring(dv, p);
                const num = dv.getUint32(4, true);
                if (num === 0 || num > 32768 || (num & (num - 1)) !== 0) throw new Error(`vring size ${num} is not a power of two ≤ 32768`);
                v.num = num;
                return true;
            }
            case Req.SET_VRING_ADDR: {
                need(40);
                const v = this.vring(dv, p);
                v.descUva = Number(dv.getBigUint64(8, true));
                v.usedUva = Number(dv.getBigUint64(16, true));
                v.availUva = Number(dv.getBigUint64(24, true));
                if (v.started) this.startRing(v);
                return true;
            }
            case Req.SET_VRING_BASE: {
                const v = this.vring(dv, p);
                v.base = dv.getUint32(4, true) & 0xffff;
                return true;
            }
            case Req.GET_VRING_BASE: {
                const v = this.vring(dv, p);
                const base = v.ring ? v.ring.lastAvail : v.base;
                this.stopRing(v);
                v.base = base;
                this.owner.onRingsChanged();
                return stateBytes(v.index, base);
            }
            case Req.SET_VRING_KICK:
            case Req.SET_VRING_CALL:
            case Req.SET_VRING_ERR: {
                need(8);
                const lo = dv.getUint32(0, true);
                const idx = lo & 0xff;
                const v = this.vrings[idx];
                if (!v || idx >= 2 * this.maxQueuePairs) throw new Error(`vring index ${idx} out of range`);
                if (!(lo & VRING_NOFD) && m.fds[0] !== undefined && m.fds[0] >= 0 && !isEventfd(m.fds[0])) throw new Error('the fd is not an eventfd');
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
            case Req.SET_VRING_ENABLE: {
                const v = this.vring(dv, p);
                v.enabled = dv.getUint32(4, true) !== 0;
                this.owner.onRingsChanged();
                return true;
            }
            case Req.SET_LOG_BASE:
            case Req.SET_LOG_FD:
                // LOG_ALL (live migration dirty logging) is not offered.
                return false;
            case Req.SEND_RARP:
            case Req.NET_SET_MTU:
            case Req.SET_VRING_ENDIAN:
                return true;
            default:
                this.owner.log(`unsupported request ${reqName(m.request)} (${m.request}), ${p.length} bytes: refused`);
                return false;
        }
    }

    private vring(dv: DataView, p: Uint8Array): Vring {
        if (p.length < 8) throw new Error(`payload ${p.length} bytes, expected a vring state`);
        const idx = dv.getUint32(0, true);
        if (idx >= 2 * this.maxQueuePairs) throw new Error(`vring index ${idx} ≥ ${2 * this.maxQueuePairs}`);
        return this.vrings[idx];
    }

    private setMemTable(m: Message, dv: DataView): void {
        if (m.payload.length < 8) throw new Error('short SET_MEM_TABLE');
        const n = dv.getUint32(0, true);
        if (n === 0 || n > 8 || m.payload.length < 8 + 32 * n) throw new Error(`SET_MEM_TABLE with ${n} regions`);
        if (m.fds.length < n) throw new Error(`SET_MEM_TABLE: ${n} regions but ${m.fds.length} fds`);
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
                    if (arena && !map) {
                        const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
                        this.owner.log(`region ${i} (${mib(size)}) does not fit the guest memory arena (${mib(arena.size - arena.used)} of ${mib(arena.size)} free): mapped on its own, so frames over 256 bytes to or from this guest are copied through a view (slower)`);
                    }
                    map ??= mapShared(fd, size, mmapOffset);
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
        const a = { desc: this.gpaOf(v.descUva, 16 * num), avail: this.gpaOf(v.availUva, 6 + 2 * num), used: this.gpaOf(v.usedUva, 6 + 8 * num) };
        if (a.desc < 0 || a.avail < 0 || a.used < 0) {
            this.fail(`vring ${v.index}: ring addresses outside the memory table`);
            return;
        }
        if (remap && v.ring && v.ring.num === num) {
            const e = v.ring.map(this.mem, a);
            if (e !== 0) this.fail(`vring ${v.index}: ${ringErrorText(e)}`);
            return;
        }
        const r = SplitRing.create(this.mem, num, a);
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
