/**
 * The two virtqueue layouts behind one type: the framing code and the ports
 * call the same methods on either; the device picks the layout the driver
 * negotiated (VIRTIO_F_RING_PACKED).
 */
import type { GuestMemory } from './guest-memory.js';
import { PackedRing } from './packed-ring.js';
import { SplitRing, type RingAddrs } from './split-ring.js';

export type Ring = SplitRing | PackedRing;

/** Builds a ring of the given layout, or returns a RingError code. */
export function createRing(mem: GuestMemory, num: number, a: RingAddrs, packed: boolean): Ring | number {
    return packed ? PackedRing.create(mem, num, a) : SplitRing.create(mem, num, a);
}

/** Bytes the driver and device areas span (what SET_VRING_ADDR's addresses must cover). */
export function ringAreaBytes(num: number, packed: boolean): { desc: number; avail: number; used: number } {
    return packed ? { desc: 16 * num, avail: 4, used: 4 } : { desc: 16 * num, avail: 6 + 2 * num, used: 6 + 8 * num };
}
