/**
 * A packed virtqueue seen from the device side (virtio 1.1+ "Packed
 * Virtqueues", VIRTIO_F_RING_PACKED). One ring of 16-byte descriptors
 * serves both directions: the driver marks a descriptor available by
 * setting its AVAIL flag to its wrap counter and USED to the inverse, the
 * device writes the used element into the slot where the buffer started
 * with both flags equal to its own wrap counter. Each counter flips when
 * its index passes the end of the ring.
 *
 * It offers SplitRing's interface (takeHead / walk / pushUsed / publish /
 * needCall / enableKicks), so the framing code and the ports run on either
 * layout unchanged. A "head" here is the ring position where the chain
 * starts; `idOf(head)` is the driver's buffer id for it. Positions carry
 * the wrap counter in bit 15, as GET_VRING_BASE reports them.
 *
 * Completion is in order (every path completes chains in the order taken),
 * so used elements never overtake the chains still in flight.
 */
import type { GuestMemory, Region } from './guest-memory.js';
import { LIMITS, vringSizeOk } from '../../core/limits.js';
import { Chain, MAX_CHAIN, RingError, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, type RingAddrs } from './split-ring.js';

export const VRING_PACKED_DESC_F_AVAIL = 1 << 7;
export const VRING_PACKED_DESC_F_USED = 1 << 15;
/** Event suppression flags (the u16 after the offset/wrap word). */
export const RING_EVENT_FLAGS_ENABLE = 0;
export const RING_EVENT_FLAGS_DISABLE = 1;
export const RING_EVENT_FLAGS_DESC = 2;

const WRAP = 0x8000;
const AVAIL_USED = VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED;

export class PackedRing {
    readonly packed = true;
    /** Descriptor ring as words of its region's Int32 view: addr lo, addr hi, len, id | flags << 16. */
    private descI32!: Int32Array;
    private descU16!: Uint16Array;
    private descWord = 0;
    /** Driver event suppression (driver area): [off_wrap, flags], read by us. */
    private driverEvent!: Uint16Array;
    /** Device event suppression (device area): [off_wrap, flags], written by us. */
    private deviceEvent!: Uint16Array;
    /** Next chain to take: position | wrap << 15. */
    lastAvail = WRAP;
    /** Next used slot: position | wrap << 15. */
    usedIdx = WRAP;
    /** First scanned position not yet counted into `ready` (position | wrap). */
    private scan = WRAP;
    /** Complete chains between lastAvail and scan, and their descriptor count. */
    private ready = 0;
    private readyDescs = 0;
    /** Per head position: descriptors in its chain and its buffer id (filled by the scan). */
    private readonly chainLen: Uint16Array;
    private readonly bufId: Uint16Array;
    /** Used slot of the first unpublished element and its flags (stored last, so the batch appears at once). */
    private batchAt = -1;
    private batchFlags = 0;
    private publishedUsed = WRAP;
    private signalledUsed = WRAP;
    eventIdx = false;
    oneLen = 0;
    private hitStart = 1;
    private hitEnd = 0;
    private hitIndex = 0;
    private hitBias = 0;

    private constructor(
        readonly num: number,
        private mem: GuestMemory,
    ) {
        this.chainLen = new Uint16Array(num);
        this.bufId = new Uint16Array(num);
    }

    /** `a.avail` is the driver event area, `a.used` the device event area (vhost-user's SET_VRING_ADDR for packed rings). */
    static create(mem: GuestMemory, num: number, a: RingAddrs): PackedRing | number {
        if (!vringSizeOk(num, LIMITS.embedded.vring)) return RingError.ALIGN;
        const r = new PackedRing(num, mem);
        const e = r.map(mem, a);
        return e === 0 ? r : e;
    }

    map(mem: GuestMemory, a: RingAddrs): number {
        if (a.desc % 16 !== 0 || a.avail % 4 !== 0 || a.used % 4 !== 0) return RingError.ALIGN;
        const dr = mem.find(a.desc, 16 * this.num);
        const ar = mem.find(a.avail, 4);
        const ur = mem.find(a.used, 4);
        if (dr < 0 || ar < 0 || ur < 0) return RingError.ADDRESS;
        const d = mem.regions[dr];
        const av = mem.regions[ar];
        const u = mem.regions[ur];
        const dOff = d.base + (a.desc - d.gpa);
        const aOff = av.u8.byteOffset + av.base + (a.avail - av.gpa);
        const uOff = u.u8.byteOffset + u.base + (a.used - u.gpa);
        if (d.u8.byteOffset !== 0 || dOff % 16 !== 0 || aOff % 4 !== 0 || uOff % 4 !== 0) return RingError.ALIGN;
        this.mem = mem;
        this.hitStart = 1;
        this.hitEnd = 0;
        this.descI32 = d.i32;
        this.descU16 = new Uint16Array(d.u8.buffer, d.u8.byteOffset + dOff, 8 * this.num);
        this.descWord = dOff / 4;
        this.driverEvent = new Uint16Array(av.u8.buffer, aOff, 2);
        this.deviceEvent = new Uint16Array(u.u8.buffer, uOff, 2);
        return 0;
    }

    /**
     * SET_VRING_BASE for packed rings: bits 0-14 the next avail position,
     * bit 15 its wrap counter; QEMU also sends the used position and wrap in
     * bits 16-31 (DPDK's virtio-user leaves them 0: used = avail then).
     */
    setBase(v: number): void {
        const avail = v & 0xffff;
        const used = v >>> 16 !== 0 ? v >>> 16 : avail;
        this.lastAvail = this.scan = this.fix(avail);
        this.usedIdx = this.publishedUsed = this.signalledUsed = this.fix(used);
        this.ready = this.readyDescs = 0;
        this.batchAt = -1;
    }

    /** GET_VRING_BASE: avail in the low half, used in the high half (QEMU reads both). */
    base(): number {
        return (this.lastAvail | (this.usedIdx << 16)) >>> 0;
    }

    private fix(v: number): number {
        return (v & 0x7fff) % this.num | (v & WRAP);
    }

    private step(at: number, n: number): number {
        let p = (at & 0x7fff) + n;
        let w = at & WRAP;
        if (p >= this.num) {
            p -= this.num;
            w ^= WRAP;
        }
        return p | w;
    }

    /** Status: where the device will take next (position | wrap). */
    availIdx(): number {
        return this.lastAvail;
    }

    usedIdxPublished(): number {
        return this.publishedUsed;
    }

    /** Flags of the descriptor at a position if the driver made it available in lap `wrap`, else -1. */
    private availFlags(pos: number, wrap: number): number {
        const f = Atomics.load(this.descU16, 8 * pos + 7);
        const want = wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
        return (f & AVAIL_USED) === want ? f : -1;
    }

    /**
     * Complete chains made available and not taken. Scans on from where
     * the last call stopped, so it costs one read per new descriptor.
     */
    pending(): number {
        const num = this.num;
        while (this.readyDescs < num) {
            const start = this.scan;
            let pos = start & 0x7fff;
            let wrap = start & WRAP;
            let n = 0;
            let f: number;
            do {
                // A chain that goes on past every descriptor the ring has left is a loop.
                if (n > 0 && this.readyDescs + n >= num) return RingError.TOO_LONG;
                f = this.availFlags(pos, wrap);
                // A head is made available last, so an unavailable one ends the scan; inside a chain it is a driver error.
                if (f < 0) {
                    if (n === 0) return this.ready;
                    return RingError.NEXT_RANGE;
                }
                if (++n > MAX_CHAIN) return RingError.TOO_LONG;
                if ((f & VRING_DESC_F_INDIRECT) !== 0 && (f & VRING_DESC_F_NEXT) !== 0) return RingError.INDIRECT;
                if (++pos === num) {
                    pos = 0;
                    wrap ^= WRAP;
                }
            } while ((f & VRING_DESC_F_NEXT) !== 0);
            const last = pos === 0 ? num - 1 : pos - 1;
            const head = start & 0x7fff;
            this.chainLen[head] = n;
            this.bufId[head] = this.descU16[8 * last + 6];
            this.scan = pos | wrap;
            this.ready++;
            this.readyDescs += n;
        }
        return this.ready;
    }

    /** Takes the next complete chain (call only when pending() > 0); returns its ring position. */
    takeHead(): number {
        const h = this.lastAvail & 0x7fff;
        const n = this.chainLen[h];
        this.lastAvail = this.step(this.lastAvail, n);
        this.ready--;
        this.readyDescs -= n;
        return h;
    }

    /** Gives back the chains taken since `mark` (an incomplete mergeable rx). */
    rewind(mark: number): void {
        // The chains between mark and lastAvail were scanned: count them back in from the cache.
        let p = mark;
        for (let k = 0; p !== this.lastAvail && k < this.num; k++) {
            const n = this.chainLen[p & 0x7fff];
            this.ready++;
            this.readyDescs += n;
            p = this.step(p, n);
        }
        this.lastAvail = mark;
    }

    /** The driver's buffer id of a taken chain. */
    idOf(head: number): number {
        return this.bufId[head];
    }

    /** One direct descriptor without NEXT in the cached region: its offset, or -1 for `walk`. */
    walkOne(head: number, wantWrite: boolean): number {
        if (head >= this.num || this.chainLen[head] !== 1) return -1;
        const t = this.descI32;
        const w = this.descWord + head * 4;
        const fn = t[w + 3] >>> 16;
        if ((fn & VRING_DESC_F_INDIRECT) !== 0 || ((fn & VRING_DESC_F_WRITE) !== 0) !== wantWrite) return -1;
        const addr = (t[w] >>> 0) + (t[w + 1] >>> 0) * 4294967296;
        const len = t[w + 2] >>> 0;
        if (len === 0 || addr < this.hitStart || addr + len > this.hitEnd) return -1;
        this.oneLen = len;
        return this.hitBias + addr;
    }

    hitRegion(): Region {
        return this.mem.regions[this.hitIndex];
    }

    /** Walks the taken chain at `head` (its length known from the scan) into `out`. */
    walk(head: number, out: Chain, wantWrite: boolean): number {
        if (head >= this.num) return RingError.HEAD_RANGE;
        const mem = this.mem;
        const n = this.chainLen[head];
        out.head = head;
        out.n = 0;
        out.total = 0;
        let pos = head;
        for (let k = 0; k < n; k++) {
            const w = this.descWord + pos * 4;
            const t = this.descI32;
            const addr = (t[w] >>> 0) + (t[w + 1] >>> 0) * 4294967296;
            const len = t[w + 2] >>> 0;
            const flags = t[w + 3] >>> 16;
            if (flags & VRING_DESC_F_INDIRECT) {
                // The whole buffer is the table (the scan refused NEXT with it); its entries run in sequence.
                if (n !== 1) return RingError.INDIRECT;
                if (len === 0 || len % 16 !== 0 || len / 16 > MAX_CHAIN) return RingError.INDIRECT;
                const ri = mem.find(addr, len);
                if (ri < 0) return RingError.ADDRESS;
                const reg = mem.regions[ri];
                const byteOff = reg.base + (addr - reg.gpa);
                if (byteOff % 4 !== 0) return RingError.ALIGN;
                const tw = byteOff / 4;
                for (let j = 0; j < len / 16; j++) {
                    const e = this.segment(reg.i32, tw + 4 * j, out, wantWrite);
                    if (e !== 0) return e;
                }
                return 0;
            }
            const e = this.segment(t, w, out, wantWrite);
            if (e !== 0) return e;
            if (++pos === this.num) pos = 0;
        }
        return 0;
    }

    private segment(t: Int32Array, w: number, out: Chain, wantWrite: boolean): number {
        const addr = (t[w] >>> 0) + (t[w + 1] >>> 0) * 4294967296;
        const len = t[w + 2] >>> 0;
        const flags = t[w + 3] >>> 16;
        if (((flags & VRING_DESC_F_WRITE) !== 0) !== wantWrite) return RingError.DIRECTION;
        if (len === 0) return 0;
        if (out.n >= MAX_CHAIN) return RingError.TOO_LONG;
        const mem = this.mem;
        const ri = mem.find(addr, len);
        if (ri < 0) return RingError.ADDRESS;
        const reg = mem.regions[ri];
        this.hitStart = reg.gpa;
        this.hitEnd = reg.gpa + reg.size;
        this.hitIndex = ri;
        this.hitBias = reg.base - reg.gpa;
        const k = out.n++;
        out.region[k] = ri;
        out.off[k] = reg.base + (addr - reg.gpa);
        out.len[k] = len;
        out.writable[k] = wantWrite ? 1 : 0;
        out.total += len;
        return 0;
    }

    /**
     * Writes the used element for a taken chain into the next used slot and
     * skips the chain's descriptors. The first element of a batch gets its
     * flags only in `publish`, so the driver sees the batch whole.
     */
    pushUsed(head: number, len: number): void {
        const at = this.usedIdx & 0x7fff;
        const w = this.descWord + at * 4;
        const flags = (this.usedIdx & WRAP) !== 0 ? AVAIL_USED : 0;
        this.descI32[w + 2] = len;
        this.descU16[8 * at + 6] = this.bufId[head];
        if (this.batchAt < 0) {
            this.batchAt = at;
            this.batchFlags = flags;
        } else {
            this.descU16[8 * at + 7] = flags;
        }
        this.usedIdx = this.step(this.usedIdx, this.chainLen[head]);
    }

    publish(): boolean {
        if (this.batchAt < 0) return false;
        Atomics.store(this.descU16, 8 * this.batchAt + 7, this.batchFlags);
        this.batchAt = -1;
        this.publishedUsed = this.usedIdx;
        return true;
    }

    /** After publish: whether the driver's event suppression asks for a call for what we published. */
    needCall(): boolean {
        const now = this.publishedUsed;
        const old = this.signalledUsed;
        if (now === old) return false;
        this.signalledUsed = now;
        const flags = Atomics.load(this.driverEvent, 1) & 3;
        if (flags === RING_EVENT_FLAGS_DISABLE) return false;
        if (flags !== RING_EVENT_FLAGS_DESC || !this.eventIdx) return true;
        // Unwrap the three positions onto one line: a call is due when the event position lies in (old, now].
        const num = this.num;
        const ow = this.driverEvent[0];
        const nowPos = now & 0x7fff;
        let oldPos = old & 0x7fff;
        let ev = ow & 0x7fff;
        if ((old & WRAP) !== (now & WRAP)) oldPos -= num;
        if ((ow & WRAP) !== (now & WRAP)) ev -= num;
        return ev >= oldPos && ev < nowPos;
    }

    /** Asks the driver to kick for new buffers; returns pending() after the store. */
    enableKicks(): number {
        Atomics.store(this.deviceEvent, 1, RING_EVENT_FLAGS_ENABLE);
        return this.pending();
    }

    disableKicks(): void {
        this.deviceEvent[1] = RING_EVENT_FLAGS_DISABLE;
    }

    region(i: number): Region {
        return this.mem.regions[i];
    }
}
