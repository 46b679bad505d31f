import { afterEach, describe, expect, it } from 'vitest';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { frameFromTxChain, RX_NO_ROOM, RX_TOO_SMALL, RxWriter } from '../../src/datapath/virtio/net.js';
import { Chain, RingError, SplitRing, VRING_DESC_F_INDIRECT as IND, VRING_DESC_F_NEXT as NEXT, VRING_DESC_F_WRITE as WR } from '../../src/datapath/virtio/split-ring.js';
import { allocNative } from '../../src/datapath/sys/libc.js';
import { frameBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { Driver, GPA, SIZE } from './ring-harness.js';

const drivers: Driver[] = [];
function driver(num = 16, eventIdx = false): Driver {
    const d = new Driver(num, eventIdx);
    drivers.push(d);
    return d;
}
afterEach(() => {
    for (const d of drivers.splice(0)) d.close();
});

const scratch = frameBuffer(65536);

function pattern(n: number, seed = 1): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
    return b;
}

describe('split ring: descriptor walking', () => {
    it('walks a 3-descriptor chain and reads the frame behind a 12-byte header', () => {
        const d = driver();
        const hdr = d.alloc(12), a = d.alloc(30), b = d.alloc(34);
        const data = pattern(64);
        d.write(a, data.subarray(0, 30));
        d.write(b, data.subarray(30));
        d.setDesc(3, hdr, 12, NEXT, 7);
        d.setDesc(7, a, 30, NEXT, 1);
        d.setDesc(1, b, 34, 0);
        d.post(3);
        expect(d.ring.pending()).toBe(1);
        const c = new Chain();
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(0);
        expect(c.n).toBe(3);
        expect(c.total).toBe(76);
        const f = new Frame();
        expect(frameFromTxChain(d.ring, c, 12, f, () => scratch)).toBe(0);
        expect(f.len).toBe(64);
        expect(f.mem).toBe(scratch.mem);
        expect(f.off).toBe(scratch.off);
        expect(Array.from(f.mem.u8.subarray(f.off, f.off + 64))).toEqual(Array.from(data));
        // A scratch block that starts further into its memory (as one in the guest memory arena does).
        const inner = { mem: scratch.mem, off: scratch.off + 4100, len: 100 };
        scratch.mem.u8.fill(0, scratch.off, scratch.off + 4100);
        expect(frameFromTxChain(d.ring, c, 12, f, () => inner)).toBe(0);
        expect(f.off).toBe(inner.off);
        expect(Array.from(f.mem.u8.subarray(f.off, f.off + 64))).toEqual(Array.from(data));
        expect(scratch.mem.u8.subarray(scratch.off, scratch.off + 4100).every((x) => x === 0)).toBe(true);
        expect(frameFromTxChain(d.ring, c, 12, f, () => ({ ...inner, len: 63 }))).toBe(-2);
    });

    it('points at guest memory without copying when header and frame share a buffer', () => {
        const d = driver();
        const buf = d.alloc(12 + 60);
        d.write(buf + 12, pattern(60, 5));
        d.setDesc(0, buf, 72, 0);
        d.post(0);
        const c = new Chain();
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(0);
        const f = new Frame();
        expect(frameFromTxChain(d.ring, c, 12, f, () => scratch)).toBe(0);
        expect(f.mem).toBe(d.mem.regions[0]);
        expect(f.off).toBe(buf - GPA + 12);
    });

    it('follows an indirect table', () => {
        const d = driver();
        const table = d.alloc(3 * 16), h = d.alloc(12), p = d.alloc(100);
        d.write(p, pattern(100, 9));
        d.setIndirect(table, 0, h, 12, NEXT, 2);
        d.setIndirect(table, 2, p, 100, 0);
        d.setDesc(5, table, 48, IND);
        d.post(5);
        const c = new Chain();
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(0);
        expect(c.n).toBe(2);
        expect(c.total).toBe(112);
    });

    it('rejects a descriptor loop', () => {
        const d = driver();
        const a = d.alloc(64);
        d.setDesc(0, a, 64, NEXT, 1);
        d.setDesc(1, a, 64, NEXT, 0);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), false)).toBe(RingError.TOO_LONG);
    });

    it('rejects a loop inside an indirect table', () => {
        const d = driver();
        const t = d.alloc(32), a = d.alloc(64);
        d.setIndirect(t, 0, a, 64, NEXT, 1);
        d.setIndirect(t, 1, a, 64, NEXT, 0);
        d.setDesc(0, t, 32, IND);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), false)).toBe(RingError.TOO_LONG);
    });

    it('rejects addresses outside guest memory, including straddling the end and 64-bit wraps', () => {
        const d = driver();
        const c = new Chain();
        for (const [addr, len] of [
            [0, 64],
            [GPA - 8, 64],
            [GPA + SIZE - 10, 64],
            [2 ** 63, 64],
            [GPA, 0xffffffff],
            [2 ** 64 - 32, 64],
        ] as const) {
            d.setDesc(0, addr, len, 0);
            d.post(0);
            expect(d.ring.walk(d.ring.takeHead(), c, false), `addr ${addr} len ${len}`).toBe(RingError.ADDRESS);
        }
    });

    it('checks bounds on the single-descriptor fast path too (cache warm)', () => {
        const d = driver();
        const c = new Chain();
        const a = d.alloc(64);
        for (const [addr, len, want] of [
            [a, 64, 0],
            [GPA + SIZE - 10, 64, RingError.ADDRESS],
            [a, 64, 0],
            [GPA - 4, 64, RingError.ADDRESS],
            [a + 2 ** 32, 64, RingError.ADDRESS],
            [a, 0xffffffff, RingError.ADDRESS],
        ] as const) {
            d.setDesc(4, addr, len, 0);
            d.post(4);
            expect(d.ring.walk(d.ring.takeHead(), c, false), `addr ${addr} len ${len}`).toBe(want);
            if (want === 0) expect([c.n, c.off[0], c.len[0]]).toEqual([1, addr - GPA, len]);
        }
    });

    it('walkOne takes only an in-bounds single descriptor of the right direction, in the region last resolved', () => {
        const d = driver();
        const c = new Chain();
        const a = d.alloc(64);
        const b = d.alloc(64);
        d.setDesc(0, a, 64, 0);
        expect(d.ring.walkOne(0, false)).toBe(-1); // nothing resolved yet: the full walk first
        expect(d.ring.walk(0, c, false)).toBe(0);
        expect(d.ring.walkOne(0, false)).toBe(a - GPA);
        expect(d.ring.oneLen).toBe(64);
        expect(d.ring.hitRegion()).toBe(d.mem.regions[0]);
        for (const [what, set, head, write] of [
            ['write-only on TX', () => d.setDesc(1, b, 64, WR), 1, false],
            ['read-only on RX', () => d.setDesc(1, b, 64, 0), 1, true],
            ['chained', () => d.setDesc(1, b, 32, 1, 2), 1, false],
            ['indirect', () => d.setDesc(1, b, 32, 4), 1, false],
            ['empty', () => d.setDesc(1, b, 0, 0), 1, false],
            ['past the region end', () => d.setDesc(1, GPA + SIZE - 10, 64, 0), 1, false],
            ['before the region', () => d.setDesc(1, GPA - 4, 64, 0), 1, false],
            ['above 4 GiB', () => d.setDesc(1, b + 2 ** 32, 64, 0), 1, false],
            // Last: a valid-looking descriptor just past the table (it overwrites the avail ring).
            ['head out of range', () => d.setDesc(16, a, 64, 0), 16, false],
        ] as const) {
            set();
            expect(d.ring.walkOne(head, write), what).toBe(-1);
        }
    });

    it('rejects out-of-range head and next indexes', () => {
        const d = driver();
        const a = d.alloc(64);
        d.post(16);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), false)).toBe(RingError.HEAD_RANGE);
        d.setDesc(2, a, 64, NEXT, 400);
        d.post(2);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), false)).toBe(RingError.NEXT_RANGE);
    });

    it('rejects bad indirect tables: nested, with NEXT, odd length, out of range', () => {
        const d = driver();
        const t = d.alloc(64), t2 = d.alloc(32), a = d.alloc(64);
        const c = new Chain();
        d.setIndirect(t, 0, t2, 32, IND);
        d.setDesc(0, t, 16, IND);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(RingError.INDIRECT);
        d.setDesc(0, t, 16, IND | NEXT, 1);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(RingError.INDIRECT);
        d.setDesc(0, t, 20, IND);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(RingError.INDIRECT);
        d.setDesc(0, GPA + SIZE - 16, 64, IND);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(RingError.ADDRESS);
        d.setIndirect(t, 0, a, 64, NEXT, 9); // next beyond the 4-entry table
        d.setDesc(0, t, 64, IND);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), c, false)).toBe(RingError.NEXT_RANGE);
    });

    it('rejects a write-only buffer on TX and a read-only one on RX', () => {
        const d = driver();
        const a = d.alloc(64);
        d.setDesc(0, a, 64, WR);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), false)).toBe(RingError.DIRECTION);
        d.setDesc(0, a, 64, 0);
        d.post(0);
        expect(d.ring.walk(d.ring.takeHead(), new Chain(), true)).toBe(RingError.DIRECTION);
    });

    it('reports an avail index that jumped beyond the ring size', () => {
        const d = driver();
        d.availIdx = 100;
        d.post(0);
        expect(d.ring.pending()).toBe(RingError.AVAIL_IDX);
    });

    it('refuses ring addresses outside memory or misaligned', () => {
        const d = driver();
        expect(SplitRing.create(d.mem, 16, { desc: GPA + 8, avail: d.avail, used: d.used })).toBe(RingError.ALIGN);
        expect(SplitRing.create(d.mem, 16, { desc: GPA + SIZE - 16, avail: d.avail, used: d.used })).toBe(RingError.ADDRESS);
        expect(SplitRing.create(d.mem, 12, { desc: GPA, avail: d.avail, used: d.used })).toBe(RingError.ALIGN);
    });
});

describe('split ring: used ring and notifications', () => {
    it('publishes used entries once per batch and honours NO_INTERRUPT', () => {
        const d = driver();
        const r = d.ring;
        r.pushUsed(3, 0);
        r.pushUsed(4, 0);
        expect(d.usedIdx()).toBe(0);
        expect(r.publish()).toBe(true);
        expect(d.usedIdx()).toBe(2);
        expect(d.usedElem(1)).toEqual({ id: 4, len: 0 });
        expect(r.needCall()).toBe(true);
        d.dv.setUint16(d.off(d.avail), 1, true); // VRING_AVAIL_F_NO_INTERRUPT
        r.pushUsed(5, 0);
        r.publish();
        expect(r.needCall()).toBe(false);
    });

    it('with event-idx calls only when used crosses used_event, and sets avail_event on enable', () => {
        const d = driver(16, true);
        const r = d.ring;
        d.setUsedEvent(5);
        for (let i = 0; i < 3; i++) r.pushUsed(i, 0);
        r.publish();
        expect(r.needCall()).toBe(false); // used went 0→3, event at 5
        for (let i = 0; i < 3; i++) r.pushUsed(i, 0);
        r.publish();
        expect(r.needCall()).toBe(true); // 3→6 crosses 5
        d.post(0);
        d.post(1);
        r.takeHead();
        expect(r.enableKicks()).toBe(1);
        expect(d.availEvent()).toBe(1);
    });
});

describe('virtio-net rx writer', () => {
    function frameOf(bytes: Uint8Array): Frame {
        const f = new Frame();
        const n = allocNative(bytes.length + 8);
        n.u8.set(bytes);
        f.mem = { u8: n.u8, i32: new Int32Array(n.u8.buffer, n.u8.byteOffset, (n.u8.length >> 2)), addr: n.addr };
        f.off = 0;
        f.len = bytes.length;
        return f;
    }

    it('writes header + frame into one buffer with num_buffers = 1', () => {
        const d = driver();
        const b = d.alloc(2048);
        d.u8.fill(0xee, d.off(b), d.off(b) + 2048);
        d.setDesc(0, b, 2048, WR);
        d.post(0);
        const w = new RxWriter(new Chain());
        const data = pattern(100, 3);
        expect(w.write(d.ring, frameOf(data), 12, true)).toBe(1);
        d.ring.publish();
        expect(d.usedElem(0)).toEqual({ id: 0, len: 112 });
        const got = d.read(b, 112);
        expect(Array.from(got.subarray(0, 10))).toEqual(new Array(10).fill(0));
        expect(got[10]).toBe(1);
        expect(Array.from(got.subarray(12))).toEqual(Array.from(data));
    });

    it('spreads a frame over several chains with MRG_RXBUF and sets num_buffers', () => {
        const d = driver();
        for (let i = 0; i < 3; i++) {
            d.setDesc(i, d.alloc(512), 512, WR);
            d.post(i);
        }
        const w = new RxWriter(new Chain());
        const data = pattern(1200, 4);
        expect(w.write(d.ring, frameOf(data), 12, true)).toBe(3);
        d.ring.publish();
        expect(d.usedIdx()).toBe(3);
        expect(d.usedElem(0).len + d.usedElem(1).len + d.usedElem(2).len).toBe(1212);
        const first = d.read(GPA + d.dv.getUint32(d.off(d.desc), true) - GPA, 12);
        expect(first[10]).toBe(3);
    });

    it('takes nothing when the ring lacks room for a whole mergeable frame', () => {
        const d = driver();
        d.setDesc(0, d.alloc(512), 512, WR);
        d.post(0);
        const w = new RxWriter(new Chain());
        expect(w.write(d.ring, frameOf(pattern(1500)), 12, true)).toBe(RX_NO_ROOM);
        expect(d.ring.lastAvail).toBe(0);
        expect(d.ring.pending()).toBe(1);
    });

    it('without MRG_RXBUF refuses a frame larger than the chain', () => {
        const d = driver();
        d.setDesc(0, d.alloc(512), 512, WR);
        d.post(0);
        const w = new RxWriter(new Chain());
        expect(w.write(d.ring, frameOf(pattern(1500)), 12, false)).toBe(RX_TOO_SMALL);
        expect(d.ring.pending()).toBe(1);
    });

    it('reports a malformed rx chain instead of writing', () => {
        const d = driver();
        d.setDesc(0, GPA + SIZE - 8, 512, WR);
        d.post(0);
        const w = new RxWriter(new Chain());
        expect(w.write(d.ring, frameOf(pattern(60)), 12, true)).toBe(RX_NO_ROOM);
        expect(w.error).toBe(RingError.ADDRESS);
    });
});
