/** A hand-built driver side of a split ring in memfd memory, for unit tests. */
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { mapShared, memfd, type Mapping } from '../../src/datapath/sys/memory.js';
import { GuestMemory, regionFromBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { SplitRing } from '../../src/datapath/virtio/split-ring.js';

export const GPA = 0x100000; // guest-physical base of the one region
export const SIZE = 1 << 20;

export class Driver {
    readonly mapping: Mapping;
    readonly dv: DataView;
    readonly u8: Uint8Array;
    readonly mem: GuestMemory;
    readonly ring: SplitRing;
    readonly desc = GPA;
    readonly avail: number;
    readonly used: number;
    /** Bump allocator for buffers, after the ring. */
    private next: number;
    availIdx = 0;

    constructor(readonly num = 16, eventIdx = false) {
        const fd = memfd('ring-test', SIZE);
        this.mapping = mapShared(fd, SIZE, 0);
        closeFd(fd);
        this.u8 = new Uint8Array(this.mapping.buffer);
        this.dv = new DataView(this.mapping.buffer);
        this.mem = new GuestMemory([regionFromBuffer(this.mapping.buffer, this.mapping.addr, GPA, SIZE, 0x7f0000000000, 0, this.mapping)]);
        this.avail = GPA + 16 * num;
        this.used = (this.avail + 6 + 2 * num + 4095) & ~4095;
        this.next = this.used + 4096 * 2;
        const r = SplitRing.create(this.mem, num, { desc: this.desc, avail: this.avail, used: this.used });
        if (typeof r === 'number') throw new Error(`ring create failed ${r}`);
        this.ring = r;
        r.eventIdx = eventIdx;
    }

    off(gpa: number): number {
        return gpa - GPA;
    }

    alloc(len: number): number {
        const a = this.next;
        this.next += (len + 63) & ~63;
        return a;
    }

    setDesc(i: number, addr: number, len: number, flags: number, next = 0): void {
        const o = this.off(this.desc) + 16 * i;
        this.dv.setBigUint64(o, BigInt(addr), true);
        this.dv.setUint32(o + 8, len, true);
        this.dv.setUint16(o + 12, flags, true);
        this.dv.setUint16(o + 14, next, true);
    }

    /** Writes an indirect table at gpa `at`. */
    setIndirect(at: number, k: number, addr: number, len: number, flags: number, next = 0): void {
        const o = this.off(at) + 16 * k;
        this.dv.setBigUint64(o, BigInt(addr), true);
        this.dv.setUint32(o + 8, len, true);
        this.dv.setUint16(o + 12, flags, true);
        this.dv.setUint16(o + 14, next, true);
    }

    post(head: number): void {
        this.dv.setUint16(this.off(this.avail) + 4 + 2 * (this.availIdx % this.num), head, true);
        this.availIdx = (this.availIdx + 1) & 0xffff;
        this.dv.setUint16(this.off(this.avail) + 2, this.availIdx, true);
    }

    usedIdx(): number {
        return this.dv.getUint16(this.off(this.used) + 2, true);
    }

    usedElem(i: number): { id: number; len: number } {
        const o = this.off(this.used) + 4 + 8 * (i % this.num);
        return { id: this.dv.getUint32(o, true), len: this.dv.getUint32(o + 4, true) };
    }

    setUsedEvent(v: number): void {
        this.dv.setUint16(this.off(this.avail) + 4 + 2 * this.num, v, true);
    }

    availEvent(): number {
        return this.dv.getUint16(this.off(this.used) + 4 + 8 * this.num, true);
    }

    write(gpa: number, bytes: Uint8Array): void {
        this.u8.set(bytes, this.off(gpa));
    }

    read(gpa: number, len: number): Uint8Array {
        return this.u8.slice(this.off(gpa), this.off(gpa) + len);
    }

    close(): void {
        this.mapping.unmap();
    }
}
