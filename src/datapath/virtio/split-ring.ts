/**
 * A split virtqueue seen from the device side (virtio 1.x "Split
 * Virtqueues"). Descriptor chains are walked into a reusable `Chain` with
 * every address bounds-checked; any malformed chain returns an error code
 * and the owner marks the device failed. Used entries are written as they
 * complete and published once per batch (`publish`), with Atomics for the
 * index stores that are followed by reads of the driver's flags/event index
 * (x86 reorders store→load).
 */
import type { GuestMemory, Region } from './guest-memory.js';
import { LIMITS, vringSizeOk } from '../../core/limits.js';

export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;
export const VRING_USED_F_NO_NOTIFY = 1;
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** Longest chain we follow (DPDK's BUF_VECTOR_MAX); longer is treated as a loop. */
export const MAX_CHAIN = 256;

export const RingError = {
    OK: 0,
    HEAD_RANGE: -1,
    NEXT_RANGE: -2,
    TOO_LONG: -3,
    ADDRESS: -4,
    INDIRECT: -5,
    ALIGN: -6,
    AVAIL_IDX: -7,
    DIRECTION: -8,
} as const;

const messages: Record<number, string> = {
    [-1]: 'descriptor head index out of range',
    [-2]: 'descriptor next index out of range',
    [-3]: `descriptor chain longer than ${MAX_CHAIN} (loop?)`,
    [-4]: 'descriptor address/length outside guest memory',
    [-5]: 'malformed indirect descriptor table',
    [-6]: 'misaligned ring or table',
    [-7]: 'avail index moved more than the ring size',
    [-8]: 'descriptor has the wrong direction (read/write) for this queue',
};
export const ringErrorText = (code: number): string => messages[code] ?? `ring error ${code}`;

/** One walked chain: segments as (region index, byte offset in region.u8, length). */
export class Chain {
    head = 0;
    n = 0;
    total = 0;
    readonly region = new Int32Array(MAX_CHAIN);
    readonly off = new Float64Array(MAX_CHAIN);
    readonly len = new Uint32Array(MAX_CHAIN);
    readonly writable = new Uint8Array(MAX_CHAIN);
}

export interface RingAddrs {
    /** Guest-physical addresses (the owner translated SET_VRING_ADDR's user addresses). */
    desc: number;
    avail: number;
    used: number;
}

export class SplitRing {
    readonly packed = false;
    readonly mask: number;
    /** The descriptor table as words of its region's Int32 view (one monomorphic array type for direct and indirect tables). */
    private descI32!: Int32Array;
    private descWord = 0;
    private avail!: Uint16Array;
    private usedU16!: Uint16Array;
    private usedU32!: Uint32Array;
    private readonly availEventAt: number;
    /** Next avail entry to take. */
    lastAvail = 0;
    /** Shadow of used->idx: entries written but maybe not yet published. */
    usedIdx = 0;
    private publishedUsed = 0;
    /** Value of used->idx at the last call decision (for event-idx). */
    private signalledUsed = 0;
    eventIdx = false;

    /**
     * `mem` and the three guest-physical addresses must already be checked
     * to be in range and aligned: use `SplitRing.create`, which does.
     */
    private constructor(
        readonly num: number,
        private mem: GuestMemory,
    ) {
        this.mask = num - 1;
        this.availEventAt = 2 + 4 * num;
    }

    /** Builds the ring views, or returns a RingError code when addresses are bad. */
    static create(mem: GuestMemory, num: number, a: RingAddrs): SplitRing | number {
        if (!vringSizeOk(num, LIMITS.embedded.vring)) return RingError.ALIGN;
        const r = new SplitRing(num, mem);
        const e = r.map(mem, a);
        return e === 0 ? r : e;
    }

    /** Re-points the views after SET_MEM_TABLE; returns a RingError code. */
    map(mem: GuestMemory, a: RingAddrs): number {
        const num = this.num;
        if (a.desc % 16 !== 0 || a.avail % 2 !== 0 || a.used % 4 !== 0) return RingError.ALIGN;
        const dr = mem.find(a.desc, 16 * num);
        const ar = mem.find(a.avail, 6 + 2 * num);
        const ur = mem.find(a.used, 6 + 8 * num);
        if (dr < 0 || ar < 0 || ur < 0) return RingError.ADDRESS;
        const d = mem.regions[dr];
        const av = mem.regions[ar];
        const u = mem.regions[ur];
        const dOff = d.base + (a.desc - d.gpa);
        const aOff = av.base + (a.avail - av.gpa);
        const uOff = u.base + (a.used - u.gpa);
        if (d.u8.byteOffset !== 0 || dOff % 16 !== 0 || (u.u8.byteOffset + uOff) % 4 !== 0 || (av.u8.byteOffset + aOff) % 2 !== 0) return RingError.ALIGN;
        this.mem = mem;
        this.hitStart = 1;
        this.hitEnd = 0;
        this.descI32 = d.i32;
        this.descWord = dOff / 4;
        this.avail = new Uint16Array(av.u8.buffer, av.u8.byteOffset + aOff, 3 + num);
        this.usedU16 = new Uint16Array(u.u8.buffer, u.u8.byteOffset + uOff, 3 + 4 * num);
        this.usedU32 = new Uint32Array(u.u8.buffer, u.u8.byteOffset + uOff, 1 + 2 * num);
        return 0;
    }

    /** Sets where processing resumes (SET_VRING_BASE). */
    setBase(idx: number): void {
        this.lastAvail = idx & 0xffff;
        this.usedIdx = idx & 0xffff;
        this.publishedUsed = this.usedIdx;
        this.signalledUsed = this.usedIdx;
    }

    /** GET_VRING_BASE: the next avail index. */
    base(): number {
        return this.lastAvail;
    }

    /** The driver's id for a taken head (a split ring's head is its id). */
    idOf(head: number): number {
        return head;
    }

    /** Guest's avail->idx as last published. */
    availIdx(): number {
        return Atomics.load(this.avail, 1);
    }

    usedIdxPublished(): number {
        return this.usedU16[1];
    }

    /** Entries the driver has made available and we have not taken; negative on a corrupt idx. */
    pending(): number {
        const n = (this.avail[1] - this.lastAvail) & 0xffff;
        return n > this.num ? RingError.AVAIL_IDX : n;
    }

    /** Takes the next available head (call only when pending() > 0). */
    takeHead(): number {
        const h = this.avail[2 + (this.lastAvail & this.mask)];
        this.lastAvail = (this.lastAvail + 1) & 0xffff;
        return h;
    }

    /** Gives back heads taken since `mark` (an incomplete mergeable rx). */
    rewind(mark: number): void {
        this.lastAvail = mark & 0xffff;
    }

    /** Length of the descriptor `walkOne` last resolved. */
    oneLen = 0;

    /**
     * The usual chain: a single direct descriptor inside the region the last
     * one was in, bounds from cached numbers, no lookup. Returns its offset
     * in `hitRegion()`'s views (length in `oneLen`), or -1 when the chain
     * needs `walk` (which also reports any error). The hot paths use it
     * instead of `walk` so the frame is not written into a Chain and read
     * back.
     */
    walkOne(head: number, wantWrite: boolean): number {
        if (head >= this.num) return -1;
        const t = this.descI32;
        const w = this.descWord + head * 4;
        const fn = t[w + 3];
        if ((fn & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) !== 0 || ((fn & VRING_DESC_F_WRITE) !== 0) !== wantWrite) return -1;
        // Exact below 2^53; anything above lands past hitEnd and falls through.
        const addr = (t[w] >>> 0) + (t[w + 1] >>> 0) * 4294967296;
        const len = t[w + 2] >>> 0;
        if (len === 0 || addr < this.hitStart || addr + len > this.hitEnd) return -1;
        this.oneLen = len;
        return this.hitBias + addr;
    }

    /** The region `walkOne`'s offsets refer to. */
    hitRegion(): Region {
        return this.mem.regions[this.hitIndex];
    }

    /**
     * Walks the chain starting at `head` into `out`. `wantWrite` is the
     * direction every descriptor must have (true for rx buffers).
     */
    walk(head: number, out: Chain, wantWrite: boolean): number {
        if (head >= this.num) return RingError.HEAD_RANGE;
        const off = this.walkOne(head, wantWrite);
        if (off >= 0) {
            out.head = head;
            out.n = 1;
            out.total = this.oneLen;
            out.region[0] = this.hitIndex;
            out.off[0] = off;
            out.len[0] = this.oneLen;
            out.writable[0] = wantWrite ? 1 : 0;
            return 0;
        }
        return this.walkSlow(head, out, wantWrite);
    }

    /** Region bounds of the last descriptor the slow walk resolved (fast-path cache). */
    private hitStart = 1;
    private hitEnd = 0;
    private hitIndex = 0;
    /** region offset = hitBias + guest address. */
    private hitBias = 0;

    private walkSlow(head: number, out: Chain, wantWrite: boolean): number {
        const num = this.num;
        const mem = this.mem;
        out.head = head;
        out.n = 0;
        out.total = 0;
        let i = head;
        let table = this.descI32;
        let tableWord = this.descWord;
        let tableLen = num;
        let indirect = false;
        let hops = 0;
        for (;;) {
            if (++hops > MAX_CHAIN + 1) return RingError.TOO_LONG;
            const w = tableWord + i * 4;
            const addr = (table[w] >>> 0) + (table[w + 1] >>> 0) * 4294967296;
            const len = table[w + 2] >>> 0;
            const fn = table[w + 3] >>> 0;
            const flags = fn & 0xffff;
            if (flags & VRING_DESC_F_INDIRECT) {
                // One level only; an indirect descriptor is the whole chain (no NEXT).
                if (indirect || out.n !== 0 || flags & VRING_DESC_F_NEXT) return RingError.INDIRECT;
                if (len === 0 || len % 16 !== 0 || len / 16 > 65536) return RingError.INDIRECT;
                const ri = mem.find(addr, len);
                if (ri < 0) return RingError.ADDRESS;
                const reg = mem.regions[ri];
                const byteOff = reg.base + (addr - reg.gpa);
                if (byteOff % 4 !== 0) return RingError.ALIGN;
                table = reg.i32;
                tableWord = byteOff / 4;
                tableLen = len / 16;
                indirect = true;
                i = 0;
                continue;
            }
            if (((flags & VRING_DESC_F_WRITE) !== 0) !== wantWrite) return RingError.DIRECTION;
            if (out.n >= MAX_CHAIN) return RingError.TOO_LONG;
            if (len > 0) {
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
            }
            if (!(flags & VRING_DESC_F_NEXT)) return 0;
            i = fn >>> 16;
            if (i >= tableLen) return RingError.NEXT_RANGE;
        }
    }

    /** Records a completed chain; visible to the driver after `publish`. */
    pushUsed(head: number, len: number): void {
        const s = 1 + 2 * (this.usedIdx & this.mask);
        this.usedU32[s] = head;
        this.usedU32[s + 1] = len;
        this.usedIdx = (this.usedIdx + 1) & 0xffff;
    }

    /** Makes pushed entries visible; true when something new was published. */
    publish(): boolean {
        if (this.usedIdx === this.publishedUsed) return false;
        Atomics.store(this.usedU16, 1, this.usedIdx);
        this.publishedUsed = this.usedIdx;
        return true;
    }

    /** After publish: whether the driver asked to be interrupted for what we published. */
    needCall(): boolean {
        const now = this.publishedUsed;
        const old = this.signalledUsed;
        if (now === old) return false;
        this.signalledUsed = now;
        if (this.eventIdx) {
            const ev = this.avail[2 + this.num];
            return ((now - ev - 1) & 0xffff) < ((now - old) & 0xffff);
        }
        return (this.avail[0] & VRING_AVAIL_F_NO_INTERRUPT) === 0;
    }

    /** Asks the driver to kick us for new buffers; returns pending() after a fence. */
    enableKicks(): number {
        if (this.eventIdx) Atomics.store(this.usedU16, this.availEventAt, this.lastAvail);
        else Atomics.store(this.usedU16, 0, 0);
        return this.pending();
    }

    /** Polling: tell the driver kicks are not needed. */
    disableKicks(): void {
        // With event-idx a stale avail_event already suppresses kicks.
        if (!this.eventIdx) this.usedU16[0] = VRING_USED_F_NO_NOTIFY;
    }

    region(i: number): Region {
        return this.mem.regions[i];
    }
}
