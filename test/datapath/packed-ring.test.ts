/**
 * What only a packed ring has: wrap counters over many laps (chains that
 * cross the ring's end), used elements written where buffers started and
 * published as one batch, the two event suppression structures, the
 * GET/SET_VRING_BASE encoding with wrap bits, and the driver errors a
 * packed layout allows. The framing paths run on it in framing-random.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { frameFromOne, frameFromTxChain, RxWriter } from '../../src/datapath/virtio/net.js';
import { RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE } from '../../src/datapath/virtio/packed-ring.js';
import { Chain, RingError, VRING_DESC_F_INDIRECT as IND, VRING_DESC_F_NEXT as NEXT, VRING_DESC_F_WRITE as WR } from '../../src/datapath/virtio/split-ring.js';
import { frameBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { Driver } from './ring-harness.js';

const drivers: Driver<'packed'>[] = [];
function driver(num = 8, eventIdx = false): Driver<'packed'> {
    const d = new Driver(num, eventIdx, 'packed');
    drivers.push(d);
    return d;
}
afterEach(() => {
    for (const d of drivers.splice(0)) d.close();
});
const scratch = frameBuffer(65536);
const memOf = (u8: Uint8Array) => ({ u8, i32: new Int32Array(u8.buffer, 0, u8.byteLength >> 2), addr: 0 });
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);

describe('packed ring', () => {
    it('carries TX chains of 1-3 descriptors across many laps, each frame whole and each used element at its chain start', () => {
        const d = driver(8);
        const bufs = Array.from({ length: 8 }, () => d.alloc(2048));
        const f = new Frame();
        const c = new Chain();
        let slot = 0;
        for (let n = 0; n < 60; n++) {
            // Lengths cycle so chains start at every position and cross the end in every way.
            const k = 1 + (n % 3);
            const frame = pattern(100 + n, n);
            const wire = new Uint8Array(12 + frame.length);
            wire.set(frame, 12);
            const cuts = k === 1 ? [wire.length] : k === 2 ? [12, frame.length] : [12, 40, frame.length - 40];
            let at = 0;
            const ids: number[] = [];
            for (let j = 0; j < k; j++) {
                const id = (slot + j) % 8;
                ids.push(id);
                d.write(bufs[id], wire.subarray(at, at + cuts[j]));
                d.setDesc(id, bufs[id], cuts[j], j < k - 1 ? NEXT : 0, (slot + j + 1) % 8);
                at += cuts[j];
            }
            d.post(ids[0]);
            expect(d.ring.pending()).toBe(1);
            const h = d.ring.takeHead();
            expect(d.ring.idOf(h)).toBe(ids[0]);
            if (!frameFromOne(d.ring, d.ring.walkOne(h, false), 12, f)) {
                expect(d.ring.walk(h, c, false)).toBe(0);
                expect(c.n).toBe(k);
                expect(frameFromTxChain(d.ring, c, 12, f, () => scratch)).toBe(0);
            }
            expect(f.mem.u8.slice(f.off, f.off + f.len)).toEqual(frame);
            d.ring.pushUsed(h, 0);
            expect(d.ring.publish()).toBe(true);
            expect(d.usedIdx()).toBe(n + 1);
            expect(d.usedElem(n).id).toBe(ids[0]);
            slot = (slot + k) % 8;
        }
        // 120 descriptors over 8 slots: the wrap counters flipped 15 times, now both at lap parity 0.
        expect(d.ring.base()).toBe(0 | (0 << 16));
    });

    it('publishes a batch at once: the first element\'s flags go last', () => {
        const d = driver(8);
        const a = d.alloc(64);
        for (let i = 0; i < 3; i++) {
            d.setDesc(i, a, 64, 0);
            d.post(i);
        }
        expect(d.ring.pending()).toBe(3);
        for (let i = 0; i < 3; i++) d.ring.pushUsed(d.ring.takeHead(), 0);
        // Elements 2 and 3 are written, but the driver reads from the first: nothing shows yet.
        expect(d.usedIdx()).toBe(0);
        d.ring.publish();
        expect(d.usedIdx()).toBe(3);
        expect([0, 1, 2].map((i) => d.usedElem(i).id)).toEqual([0, 1, 2]);
    });

    it('reads an indirect table as one descriptor and writes RX frames through it', () => {
        const d = driver(8);
        const table = d.alloc(48);
        const parts = [d.alloc(12), d.alloc(50), d.alloc(100)];
        d.setIndirect(table, 0, parts[0], 12, WR);
        d.setIndirect(table, 1, parts[1], 50, WR);
        d.setIndirect(table, 2, parts[2], 100, WR);
        d.setDesc(5, table, 48, IND);
        d.post(5);
        const w = new RxWriter(new Chain());
        const src = pattern(120, 3);
        const f = new Frame();
        f.mem = memOf(src);
        f.off = 0;
        f.len = src.length;
        expect(w.write(d.ring, f, 12, true)).toBe(1);
        d.ring.publish();
        expect(d.usedElem(0)).toEqual({ id: 5, len: 132 });
        expect([...d.read(parts[1], 50), ...d.read(parts[2], 70)]).toEqual([...src]);
        expect(d.read(parts[0], 12)[10]).toBe(1);
    });

    it('takes a chain only once its head is available, and refuses malformed chains', () => {
        const d = driver(8);
        const a = d.alloc(64);
        // Descriptor 1 of a chain available, its head (position 0) not yet: nothing pending.
        d.driver.writeRaw(1, a, 64, 0, d.driver.availBits());
        d.driver.writeRaw(0, a, 64, 0, NEXT);
        expect(d.ring.pending()).toBe(0);
        // Head available, the chain runs into a descriptor the driver has not made available.
        d.driver.writeRaw(1, a, 64, 0, 0);
        d.driver.writeRaw(0, a, 64, 0, NEXT | d.driver.availBits());
        expect(d.ring.pending()).toBe(RingError.NEXT_RANGE);

        const e = driver(8);
        e.driver.writeRaw(0, a, 32, 0, IND | NEXT | e.driver.availBits());
        expect(e.ring.pending()).toBe(RingError.INDIRECT);

        // Every descriptor chained to the next: longer than the ring.
        const g = driver(8);
        for (let i = 7; i >= 0; i--) g.driver.writeRaw(i, a, 8, 0, NEXT | g.driver.availBits());
        expect(g.ring.pending()).toBe(RingError.TOO_LONG);

        // A read-only buffer posted for RX.
        const h = driver(8);
        h.setDesc(0, a, 64, 0);
        h.post(0);
        expect(h.ring.pending()).toBe(1);
        expect(h.ring.walk(h.ring.takeHead(), new Chain(), true)).toBe(RingError.DIRECTION);
    });

    it('calls as the driver event suppression says: enable, disable, or at one position with its wrap', () => {
        const d = driver(8, true);
        const a = d.alloc(64);
        const round = () => {
            d.setDesc(0, a, 64, 0);
            d.post(0);
            d.ring.pending();
            d.ring.pushUsed(d.ring.takeHead(), 0);
            d.ring.publish();
            d.usedIdx();
            return d.ring.needCall();
        };
        d.driver.setDriverEvent(RING_EVENT_FLAGS_ENABLE);
        expect(round()).toBe(true);
        d.driver.setDriverEvent(RING_EVENT_FLAGS_DISABLE);
        expect(round()).toBe(false);
        // Positions 2..7 then 0 (wrapped): ask for the element at position 1 of the next lap.
        d.driver.setDriverEvent(RING_EVENT_FLAGS_DESC, 1 | (0 << 15));
        const calls: boolean[] = [];
        for (let i = 0; i < 8; i++) calls.push(round());
        // Elements land at positions 2,3,4,5,6,7,0,1: only the one at lap-0 position 1 calls.
        expect(calls).toEqual([false, false, false, false, false, false, false, true]);
        // The same position in the wrong lap does not call.
        d.driver.setDriverEvent(RING_EVENT_FLAGS_DESC, 3 | (1 << 15));
        expect([round(), round()]).toEqual([false, false]);
    });

    it('enables and disables kicks in the device event structure', () => {
        const d = driver(8);
        d.ring.disableKicks();
        expect(d.driver.deviceEventFlags()).toBe(RING_EVENT_FLAGS_DISABLE);
        expect(d.ring.enableKicks()).toBe(0);
        expect(d.driver.deviceEventFlags()).toBe(RING_EVENT_FLAGS_ENABLE);
        const a = d.alloc(64);
        d.setDesc(0, a, 64, 0);
        d.post(0);
        d.ring.disableKicks();
        // Something posted while kicks were off is reported by enableKicks (no kick is lost).
        expect(d.ring.enableKicks()).toBe(1);
    });

    it('resumes from SET_VRING_BASE with wrap counters, and rewinds an incomplete RX', () => {
        const d = driver(8);
        // QEMU's encoding: avail position 5 lap 0, used position 5 lap 0.
        d.ring.setBase(5 | (5 << 16));
        expect(d.ring.base()).toBe(5 | (5 << 16));
        // DPDK virtio-user sends only the avail half (here: position 0, wrap 1).
        d.ring.setBase(0x8000);
        expect(d.ring.base()).toBe((0x8000 | (0x8000 << 16)) >>> 0);
        const a = d.alloc(64);
        d.setDesc(0, a, 20, WR);
        d.post(0);
        const f = new Frame();
        f.mem = memOf(new Uint8Array(200));
        f.off = 0;
        f.len = 100;
        // Too small without mergeable buffers: refused; with them no room; nothing taken either way.
        const w = new RxWriter(new Chain());
        expect(w.write(d.ring, f, 12, true)).toBe(0);
        expect(d.ring.base()).toBe((0x8000 | (0x8000 << 16)) >>> 0);
        expect(d.ring.pending()).toBe(1);
    });
});

describe('packed ring: RX over one ring for many frames', () => {
    it('keeps its count of available chains across the fast path falling back (rewind) and mergeable frames', () => {
        const d = driver(16);
        const w = new RxWriter(new Chain());
        const src = pattern(3000, 9);
        const f = new Frame();
        f.mem = memOf(src);
        f.off = 0;
        let posted = 0;
        let used = 0;
        const post = (k: number) => {
            for (let i = 0; i < k; i++) {
                const id = posted++ % 16;
                d.setDesc(id, d.alloc(1536), 1536, WR);
                d.post(id);
            }
        };
        post(16);
        for (let n = 0; n < 40; n++) {
            // 100-byte frames take one buffer (the first through the slow walk: the region cache is cold), 3000-byte ones two.
            f.len = n % 3 === 0 ? 3000 : 100;
            const want = f.len === 3000 ? 2 : 1;
            const before = d.ring.pending();
            expect(before, `frame ${n}`).toBe(posted - used);
            const r = w.write(d.ring, f, 12, true);
            expect(w.error, `frame ${n}`).toBe(0);
            expect(r, `frame ${n}`).toBe(want);
            d.ring.publish();
            used += want;
            expect(d.usedIdx()).toBe(used);
            expect(d.ring.pending(), `frame ${n}`).toBe(posted - used);
            post(want);
        }
    });
});
