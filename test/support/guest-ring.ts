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
