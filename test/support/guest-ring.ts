/**
 * The guest side of shared memory for tests and the hostile frontend: one memfd
 * mapped here and offered to the switch in SET_MEM_TABLE, with a canary
 * area in front of the region (inside the file, so the switch maps it too,
 * but outside every region the table declares: the switch must never
 * write there), and split rings laid out the way a virtio driver does.
 */
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { mapShared, memfd, type Mapping } from '../../src/datapath/sys/memory.js';

export const CANARY_BYTE = 0xa5;

export interface GuestLayout {
    /** Bytes before the region in the file (canary; the region's mmap_offset). */
    canary: number;
    /** The region: guest-physical start, size and the frontend's user address. */
    gpa: number;
    size: number;
    uva: number;
}

export const DEFAULT_LAYOUT: GuestLayout = { canary: 64 * 1024, gpa: 0x100000, size: 1024 * 1024, uva: 0x7f00_0000_0000 };

export class GuestMem {
    readonly fd: number;
    readonly map: Mapping;
    readonly u8: Uint8Array;
    readonly dv: DataView;

    constructor(readonly layout: GuestLayout = DEFAULT_LAYOUT, name = 'vtopo-fuzz-guest') {
        this.fd = memfd(name, layout.canary + layout.size);
        this.map = mapShared(this.fd, layout.canary + layout.size, 0);
        this.u8 = new Uint8Array(this.map.buffer);
        this.dv = new DataView(this.map.buffer);
        this.u8.fill(CANARY_BYTE, 0, layout.canary);
    }

    /** Byte offset in the file of a guest-physical address (no check: callers aim anywhere on purpose). */
    off(gpa: number): number {
        return this.layout.canary + (gpa - this.layout.gpa);
    }

    uvaOf(gpa: number): number {
        return this.layout.uva + (gpa - this.layout.gpa);
    }

    inRegion(gpa: number, len: number): boolean {
        return gpa >= this.layout.gpa && gpa + len <= this.layout.gpa + this.layout.size;
    }

    /** The first canary byte that changed, or -1. */
    canaryDamage(): number {
        for (let i = 0; i < this.layout.canary; i++) if (this.u8[i] !== CANARY_BYTE) return i;
        return -1;
    }

    zeroRegion(): void {
        this.u8.fill(0, this.layout.canary);
    }

    close(): void {
        this.map.unmap();
        closeFd(this.fd);
    }
}

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;

/** A split ring as the driver writes it: descriptor table, avail ring, used ring. */
export class DriverRing {
    availIdx = 0;
    lastUsed = 0;

    constructor(readonly mem: GuestMem, readonly num: number, readonly desc: number, readonly avail: number, readonly used: number) {}

    /** Lays out a ring at `gpa` (desc, then avail, then used on the next 4K). */
    static at(mem: GuestMem, gpa: number, num: number): DriverRing {
        const desc = gpa;
        const avail = desc + 16 * num;
        const used = (avail + 6 + 2 * num + 4095) & ~4095;
        return new DriverRing(mem, num, desc, avail, used);
    }

    /** Bytes from `desc` to the end of the used ring. */
    get span(): number {
        return this.used + 6 + 8 * this.num - this.desc;
    }

    writeDesc(i: number, addr: bigint | number, len: number, flags: number, next: number): void {
        this.writeDescAt(this.desc + 16 * i, addr, len, flags, next);
    }

    /** A descriptor anywhere (indirect tables). */
    writeDescAt(gpa: number, addr: bigint | number, len: number, flags: number, next: number): void {
        const o = this.mem.off(gpa);
        const dv = this.mem.dv;
        dv.setBigUint64(o, BigInt.asUintN(64, BigInt(addr)), true);
        dv.setUint32(o + 8, len >>> 0, true);
        dv.setUint16(o + 12, flags & 0xffff, true);
        dv.setUint16(o + 14, next & 0xffff, true);
    }

    /** Makes `head` available and publishes the index. */
    post(head: number): void {
        const o = this.mem.off(this.avail);
        this.mem.dv.setUint16(o + 4 + 2 * (this.availIdx % this.num), head & 0xffff, true);
        this.availIdx = (this.availIdx + 1) & 0xffff;
        this.mem.dv.setUint16(o + 2, this.availIdx, true);
    }

    /** Writes avail->idx directly (far-ahead indexes). */
    setAvailIdx(v: number): void {
        this.availIdx = v & 0xffff;
        this.mem.dv.setUint16(this.mem.off(this.avail) + 2, this.availIdx, true);
    }

    setAvailFlags(v: number): void {
        this.mem.dv.setUint16(this.mem.off(this.avail), v & 0xffff, true);
    }

    usedIdx(): number {
        return this.mem.dv.getUint16(this.mem.off(this.used) + 2, true);
    }

    /** Used ring entry i (mod num). */
    usedElem(i: number): { id: number; len: number } {
        const o = this.mem.off(this.used) + 4 + 8 * (i % this.num);
        return { id: this.mem.dv.getUint32(o, true), len: this.mem.dv.getUint32(o + 4, true) };
    }

    /** EVENT_IDX: the driver's used_event (after the avail ring). */
    setUsedEvent(v: number): void {
        this.mem.dv.setUint16(this.mem.off(this.avail) + 4 + 2 * this.num, v & 0xffff, true);
    }

    /** EVENT_IDX: the device's avail_event (after the used ring). */
    availEvent(): number {
        return this.mem.dv.getUint16(this.mem.off(this.used) + 4 + 8 * this.num, true);
    }

    /** Used entries the device returned since the last call. */
    reap(): { id: number; len: number }[] {
        const out: { id: number; len: number }[] = [];
        const idx = this.usedIdx();
        while (this.lastUsed !== idx) {
            const o = this.mem.off(this.used) + 4 + 8 * (this.lastUsed % this.num);
            out.push({ id: this.mem.dv.getUint32(o, true), len: this.mem.dv.getUint32(o + 4, true) });
            this.lastUsed = (this.lastUsed + 1) & 0xffff;
        }
        return out;
    }
}

export const VIRTQ_DESC_F_AVAIL = 1 << 7;
export const VIRTQ_DESC_F_USED = 1 << 15;

/**
 * A packed ring as the driver writes it, behind DriverRing's calls so one
 * test drives either layout: `writeDesc(i, …, next)` stages descriptor i
 * the split way, `post(head)` lays the staged chain from `head` (following
 * NEXT/next) into the next free ring positions with buffer id `head`, the
 * head's flags written last. Used elements are collected in order, so
 * `usedIdx`/`usedElem` count them as a split used ring would.
 */
export class PackedDriverRing {
    availIdx = 0;
    lastUsed = 0;
    private pos = 0;
    private wrap = 1;
    private usedPos = 0;
    private usedWrap = 1;
    private readonly staged = new Map<number, { addr: bigint | number; len: number; flags: number; next: number }>();
    /** Descriptors each posted buffer id took (the device skips that many). */
    private readonly idDescs = new Map<number, number>();
    private readonly done: { id: number; len: number }[] = [];

    /** `avail` is the driver event suppression area, `used` the device's. */
    constructor(readonly mem: GuestMem, readonly num: number, readonly desc: number, readonly avail: number, readonly used_: number) {}

    get used(): number {
        return this.used_;
    }

    static at(mem: GuestMem, gpa: number, num: number): PackedDriverRing {
        const desc = gpa;
        const avail = desc + 16 * num;
        return new PackedDriverRing(mem, num, desc, avail, avail + 64);
    }

    get span(): number {
        return this.used_ + 4 - this.desc;
    }

    writeDesc(i: number, addr: bigint | number, len: number, flags: number, next: number): void {
        this.staged.set(i, { addr, len, flags, next });
    }

    /** An indirect table entry (packed layout: id at 12, flags at 14). */
    writeDescAt(gpa: number, addr: bigint | number, len: number, flags: number, id = 0): void {
        const o = this.mem.off(gpa);
        const dv = this.mem.dv;
        dv.setBigUint64(o, BigInt.asUintN(64, BigInt(addr)), true);
        dv.setUint32(o + 8, len >>> 0, true);
        dv.setUint16(o + 12, id & 0xffff, true);
        dv.setUint16(o + 14, flags & 0xffff, true);
    }

    /** Raw descriptor at a ring position, flags as given (malformed rings). */
    writeRaw(pos: number, addr: bigint | number, len: number, id: number, flags: number): void {
        this.writeDescAt(this.desc + 16 * pos, addr, len, flags, id);
    }

    /** Flag bits that make a descriptor available in the driver's current lap. */
    availBits(wrap = this.wrap): number {
        return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
    }

    post(head: number): void {
        const chain: { addr: bigint | number; len: number; flags: number }[] = [];
        for (let i = head; ; ) {
            const d = this.staged.get(i);
            if (!d) throw new Error(`descriptor ${i} was not staged`);
            chain.push(d);
            if (!(d.flags & VIRTQ_DESC_F_NEXT) || chain.length > this.num) break;
            i = d.next;
        }
        const start = this.pos;
        let headFlags = 0;
        chain.forEach((d, k) => {
            const flags = (d.flags & 7) | this.availBits();
            if (k === 0) {
                headFlags = flags;
                this.writeRaw(this.pos, d.addr, d.len, head, 0);
            } else this.writeRaw(this.pos, d.addr, d.len, head, flags);
            if (++this.pos === this.num) {
                this.pos = 0;
                this.wrap ^= 1;
            }
        });
        this.idDescs.set(head, chain.length);
        Atomics.store(new Uint16Array(this.mem.map.buffer, this.mem.off(this.desc) + 16 * start + 14, 1), 0, headFlags);
        this.availIdx = (this.availIdx + 1) & 0xffff;
    }

    /** Driver event suppression: flags 0 enable, 1 disable, 2 desc (at off_wrap). */
    setDriverEvent(flags: number, offWrap = 0): void {
        const o = this.mem.off(this.avail);
        this.mem.dv.setUint16(o, offWrap, true);
        this.mem.dv.setUint16(o + 2, flags, true);
    }

    deviceEventFlags(): number {
        return this.mem.dv.getUint16(this.mem.off(this.used_) + 2, true);
    }

    /** The used position and wrap the driver expects next (what it would put in off_wrap). */
    nextUsedOffWrap(): number {
        return this.usedPos | (this.usedWrap << 15);
    }

    private collect(): void {
        const dv = this.mem.dv;
        for (;;) {
            const o = this.mem.off(this.desc) + 16 * this.usedPos;
            const f = dv.getUint16(o + 14, true);
            const a = (f & VIRTQ_DESC_F_AVAIL) !== 0 ? 1 : 0;
            const u = (f & VIRTQ_DESC_F_USED) !== 0 ? 1 : 0;
            if (a !== this.usedWrap || u !== this.usedWrap) return;
            const id = dv.getUint16(o + 12, true);
            this.done.push({ id, len: dv.getUint32(o + 8, true) });
            const n = this.idDescs.get(id);
            if (n === undefined) throw new Error(`used element for buffer id ${id} that is not in flight`);
            this.idDescs.delete(id);
            this.usedPos += n;
            if (this.usedPos >= this.num) {
                this.usedPos -= this.num;
                this.usedWrap ^= 1;
            }
        }
    }

    usedIdx(): number {
        this.collect();
        return this.done.length & 0xffff;
    }

    usedElem(i: number): { id: number; len: number } {
        this.collect();
        return this.done[i];
    }

    reap(): { id: number; len: number }[] {
        this.collect();
        const out = this.done.slice(this.lastUsed);
        this.lastUsed = this.done.length;
        return out;
    }
}
