/**
 * A hand-built driver side of a split ring (test/support/guest-ring.ts) in
 * one memfd region, with the switch's SplitRing over the same memory, for
 * unit tests of the ring and the framing code.
 */
import { GuestMemory, regionFromBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { SplitRing } from '../../src/datapath/virtio/split-ring.js';
import { DriverRing, GuestMem } from '../support/guest-ring.js';

export const GPA = 0x100000; // guest-physical base of the one region
export const SIZE = 1 << 20;
const UVA = 0x7f0000000000;

export class Driver {
    readonly guest: GuestMem;
    readonly driver: DriverRing;
    readonly dv: DataView;
    readonly u8: Uint8Array;
    /** The switch's view of the region. */
    readonly mem: GuestMemory;
    readonly ring: SplitRing;
    readonly desc: number;
    readonly avail: number;
    readonly used: number;
    /** Bump allocator for buffers, after the ring. */
    private next: number;

    constructor(readonly num = 16, eventIdx = false) {
        this.guest = new GuestMem({ canary: 0, gpa: GPA, size: SIZE, uva: UVA }, 'ring-test');
        this.driver = DriverRing.at(this.guest, GPA, num);
        ({ desc: this.desc, avail: this.avail, used: this.used } = this.driver);
        this.u8 = this.guest.u8;
        this.dv = this.guest.dv;
        const map = this.guest.map;
        this.mem = new GuestMemory([regionFromBuffer(map.buffer, map.addr, GPA, SIZE, UVA, 0, map)]);
        this.next = this.used + 4096 * 2;
        const r = SplitRing.create(this.mem, num, { desc: this.desc, avail: this.avail, used: this.used });
        if (typeof r === 'number') throw new Error(`ring create failed ${r}`);
        this.ring = r;
        r.eventIdx = eventIdx;
    }

    get availIdx(): number {
        return this.driver.availIdx;
    }

    /** The next post's index (without publishing it: a test can make the driver skip ahead). */
    set availIdx(v: number) {
        this.driver.availIdx = v;
    }

    off(gpa: number): number {
        return this.guest.off(gpa);
    }

    alloc(len: number): number {
        const a = this.next;
        this.next += (len + 63) & ~63;
        return a;
    }

    setDesc(i: number, addr: number, len: number, flags: number, next = 0): void {
        this.driver.writeDesc(i, addr, len, flags, next);
    }

    /** Writes entry k of an indirect table at gpa `at`. */
    setIndirect(at: number, k: number, addr: number, len: number, flags: number, next = 0): void {
        this.driver.writeDescAt(at + 16 * k, addr, len, flags, next);
    }

    post(head: number): void {
        this.driver.post(head);
    }

    usedIdx(): number {
        return this.driver.usedIdx();
    }

    usedElem(i: number): { id: number; len: number } {
        return this.driver.usedElem(i);
    }

    setUsedEvent(v: number): void {
        this.driver.setUsedEvent(v);
    }

    availEvent(): number {
        return this.driver.availEvent();
    }

    write(gpa: number, bytes: Uint8Array): void {
        this.u8.set(bytes, this.off(gpa));
    }

    read(gpa: number, len: number): Uint8Array {
        return this.u8.slice(this.off(gpa), this.off(gpa) + len);
    }

    close(): void {
        this.guest.close();
    }
}
