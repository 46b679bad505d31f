/**
 * A hand-built driver side of a split or packed ring
 * (test/support/guest-ring.ts) in one memfd region, with the switch's ring
 * of the same layout over the same memory, for unit tests of the rings and
 * the framing code. `Driver` is the split one (its tests reach into the
 * split layout); `LayoutDriver` takes the layout, for tests that run on both.
 */
import { GuestMemory, regionFromBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { PackedRing } from '../../src/datapath/virtio/packed-ring.js';
import type { Ring } from '../../src/datapath/virtio/ring.js';
import { SplitRing } from '../../src/datapath/virtio/split-ring.js';
import { DriverRing, GuestMem, PackedDriverRing } from '../support/guest-ring.js';

export type Layout = 'split' | 'packed';
export const LAYOUTS: Layout[] = ['split', 'packed'];

export const GPA = 0x100000; // guest-physical base of the one region
export const SIZE = 1 << 20;
const UVA = 0x7f0000000000;

export class Driver<L extends Layout = 'split'> {
    readonly guest: GuestMem;
    readonly driver: L extends 'packed' ? PackedDriverRing : DriverRing;
    readonly dv: DataView;
    readonly u8: Uint8Array;
    /** The switch's view of the region. */
    readonly mem: GuestMemory;
    readonly ring: L extends 'packed' ? PackedRing : SplitRing;
    readonly desc: number;
    readonly avail: number;
    readonly used: number;
    /** Bump allocator for buffers, after the ring. */
    private next: number;

    constructor(readonly num = 16, eventIdx = false, readonly layout: L = 'split' as L) {
        this.guest = new GuestMem({ canary: 0, gpa: GPA, size: SIZE, uva: UVA }, 'ring-test');
        const packed = layout === 'packed';
        this.driver = (packed ? PackedDriverRing.at(this.guest, GPA, num) : DriverRing.at(this.guest, GPA, num)) as Driver<L>['driver'];
        ({ desc: this.desc, avail: this.avail, used: this.used } = this.driver);
        this.u8 = this.guest.u8;
        this.dv = this.guest.dv;
        const map = this.guest.map;
        this.mem = new GuestMemory([regionFromBuffer(map.buffer, map.addr, GPA, SIZE, UVA, 0, map)]);
        this.next = this.used + 4096 * 2;
        const a = { desc: this.desc, avail: this.avail, used: this.used };
        const r = packed ? PackedRing.create(this.mem, num, a) : SplitRing.create(this.mem, num, a);
        if (typeof r === 'number') throw new Error(`ring create failed ${r}`);
        this.ring = r as Driver<L>['ring'];
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

    setUsedEvent(this: Driver, v: number): void {
        this.driver.setUsedEvent(v);
    }

    availEvent(this: Driver): number {
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

/** A driver of either layout, seen through the calls both share (its ring is a `Ring`). */
export const layoutDriver = (layout: Layout, num = 16, eventIdx = false): Driver<Layout> => new Driver<Layout>(num, eventIdx, layout);
export type { Ring };
