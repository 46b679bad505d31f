/**
 * The frame paths the switch runs per packet (walkOne and frameFromOne, the
 * full walk and frameFromTxChain, RxWriter with and without mergeable
 * buffers, copyBytes underneath), on random layouts a driver may post:
 * chains of one to four descriptors cut anywhere (the 12-byte header split
 * or not), indirect tables, odd alignments, frames from 1 byte to 9 KB,
 * sources inside the same guest memory and outside it. Each result is
 * checked against what the layout says by construction: the exact bytes,
 * the used lengths, num_buffers, and the refusals (no room, too small).
 * Seeded, so a failure names the seed and the case. Runs on split and
 * packed rings alike (the same layouts, laid out each ring's way).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Frame } from '../../src/datapath/virtio/frame.js';
import type { FrameBuffer, Mem } from '../../src/datapath/virtio/guest-memory.js';
import { frameFromOne, frameFromTxChain, RX_NO_ROOM, RX_TOO_SMALL, RxWriter } from '../../src/datapath/virtio/net.js';
import { Chain } from '../../src/datapath/virtio/split-ring.js';
import { layoutDriver, LAYOUTS, type Driver, type Layout } from './ring-harness.js';
import { rng } from '../support/rng.js';

const HDR = 12;
const F_NEXT = 1;
const F_WRITE = 2;
const F_INDIRECT = 4;


const memOf = (buf: ArrayBuffer): Mem => ({ u8: new Uint8Array(buf), i32: new Int32Array(buf), addr: 0 });
const scratchBuf = new ArrayBuffer(65536 + 64);
const scratch: FrameBuffer = { mem: memOf(scratchBuf), off: 0, len: 65536 };

let drivers: Driver<Layout>[] = [];
afterEach(() => {
    for (const d of drivers) d.close();
    drivers = [];
});
let layout: Layout = 'split';
const driver = () => {
    const d = layoutDriver(layout, 256);
    drivers.push(d);
    return d;
};

/** Random cut of `total` bytes into `k` lengths (some may be 0), the header boundary favoured. */
function cut(r: () => number, total: number, k: number): number[] {
    const points = new Set<number>();
    while (points.size < k - 1) points.add(r() < 0.25 && total > HDR ? HDR : Math.floor(r() * (total + 1)));
    const xs = [0, ...[...points].sort((a, b) => a - b), total];
    return xs.slice(1).map((x, i) => x - xs[i]);
}

/** Posts buffers of the given lengths as one chain, direct or through an indirect table; returns the head and each buffer's gpa. */
function postChain(d: Driver<Layout>, r: () => number, slot: number, lens: number[], flags: number): { head: number; gpas: number[]; next: number } {
    const gpas = lens.map((len) => d.alloc(len + 8) + Math.floor(r() * 4));
    if (r() < 0.3) {
        const table = d.alloc(16 * lens.length);
        lens.forEach((len, k) => d.setIndirect(table, k, gpas[k], len, flags | (k < lens.length - 1 ? F_NEXT : 0), k + 1));
        d.setDesc(slot, table, 16 * lens.length, F_INDIRECT);
        d.post(slot);
        return { head: slot, gpas, next: slot + 1 };
    }
    lens.forEach((len, k) => d.setDesc(slot + k, gpas[k], len, flags | (k < lens.length - 1 ? F_NEXT : 0), slot + k + 1));
    d.post(slot);
    return { head: slot, gpas, next: slot + lens.length };
}

function frameLen(r: () => number): number {
    const band = r();
    if (band < 0.3) return 1 + Math.floor(r() * 80);
    if (band < 0.6) return 81 + Math.floor(r() * 240);
    if (band < 0.9) return 1000 + Math.floor(r() * 600);
    return 9000;
}

const bytes = (r: () => number, n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

for (const ringLayout of LAYOUTS)
describe(`frame paths on random driver layouts, ${ringLayout} ring`, () => {
    beforeEach(() => {
        layout = ringLayout;
    });
    for (const seed of [11, 12, 13]) {
        it(`TX, seed ${seed}: every chain yields exactly the frame behind the header`, () => {
            const r = rng(seed);
            const f = new Frame();
            const chain = new Chain();
            for (let n = 0; n < 300; n++) {
                const d = driver();
                const len = frameLen(r);
                const lens = cut(r, HDR + len, 1 + Math.floor(r() * 4));
                const { head, gpas } = postChain(d, r, Math.floor(r() * 200), lens, 0);
                const wire = bytes(r, HDR + len);
                let at = 0;
                lens.forEach((l, k) => {
                    d.write(gpas[k], wire.subarray(at, at + l));
                    at += l;
                });
                const ring = d.ring;
                expect(ring.pending()).toBe(1);
                const h = ring.takeHead();
                expect(ring.idOf(h)).toBe(head);
                let res = 0;
                if (!frameFromOne(ring, ring.walkOne(h, false), HDR, f)) {
                    expect(ring.walk(h, chain, false), `case ${n} ${lens}`).toBe(0);
                    res = frameFromTxChain(ring, chain, HDR, f, () => scratch);
                }
                expect(res, `case ${n} ${lens}`).toBe(0);
                expect(f.len).toBe(len);
                expect(f.mem.u8.slice(f.off, f.off + f.len), `case ${n}: lengths ${lens}`).toEqual(wire.subarray(HDR));
                d.close();
                drivers.pop();
            }
        });

        it(`RX, seed ${seed}: frames land whole, in order, with num_buffers, or are refused as the layout says`, () => {
            const r = rng(seed + 100);
            const writer = new RxWriter(new Chain());
            const outside = new ArrayBuffer(16384);
            for (let n = 0; n < 300; n++) {
                const d = driver();
                const mergeable = r() < 0.6;
                // 1-4 chains of 1-3 writable buffers.
                let slot = Math.floor(r() * 100);
                const chains: { head: number; gpas: number[]; lens: number[] }[] = [];
                for (let c = 1 + Math.floor(r() * 4); c > 0; c--) {
                    const lens = Array.from({ length: 1 + Math.floor(r() * 3) }, () => 1 + Math.floor(r() * (r() < 0.5 ? 300 : 2500)));
                    const posted = postChain(d, r, slot, lens, F_WRITE);
                    chains.push({ head: posted.head, gpas: posted.gpas, lens });
                    slot = posted.next;
                }
                // The frame: in the same guest memory (one buffer: copyWithin) or outside it.
                const len = Math.min(frameLen(r), 9000);
                const payload = bytes(r, len);
                const f = new Frame();
                if (r() < 0.5) {
                    const gpa = d.alloc(len + 8) + Math.floor(r() * 4);
                    d.write(gpa, payload);
                    f.mem = d.ring.region(0);
                    f.off = d.off(gpa);
                } else {
                    f.mem = memOf(outside);
                    f.off = Math.floor(r() * 8);
                    f.mem.u8.set(payload, f.off);
                }
                f.len = len;

                // What the layout says.
                const need = HDR + len;
                const caps = chains.map((c) => c.lens.reduce((s, x) => s + x, 0));
                let want: number;
                if (!mergeable) want = caps[0] >= need ? 1 : RX_TOO_SMALL;
                else {
                    let got = 0;
                    let k = 0;
                    while (k < caps.length && got < need) got += caps[k++];
                    want = got >= need ? k : RX_NO_ROOM;
                }
                const usedBefore = d.usedIdx();
                const res = writer.write(d.ring, f, HDR, mergeable);
                const what = `case ${n}: ${mergeable ? 'mergeable' : 'one chain'}, chains ${chains.map((c) => c.lens.join('+')).join(' | ')}, frame ${len}`;
                expect(writer.error, what).toBe(0);
                expect(res, what).toBe(want);
                d.ring.publish();
                if (res <= 0) {
                    expect(d.usedIdx(), what).toBe(usedBefore);
                    // Nothing taken: the first chain is still the next one.
                    expect(d.ring.pending(), what).toBeGreaterThan(0);
                    expect(d.ring.idOf(d.ring.takeHead()), what).toBe(chains[0].head);
                    continue;
                }
                expect(d.usedIdx(), what).toBe(usedBefore + res);
                const got: number[] = [];
                let left = need;
                for (let k = 0; k < res; k++) {
                    const u = d.usedElem(usedBefore + k);
                    expect(u.id, what).toBe(chains[k].head);
                    expect(u.len, what).toBe(Math.min(caps[k], left));
                    let take = u.len;
                    chains[k].lens.forEach((l, j) => {
                        const n2 = Math.min(l, take);
                        got.push(...d.read(chains[k].gpas[j], n2));
                        take -= n2;
                    });
                    left -= u.len;
                }
                const hdr = Uint8Array.from(got.slice(0, HDR));
                expect([...hdr.subarray(0, 10)], what).toEqual(new Array(10).fill(0));
                expect(hdr[10] | (hdr[11] << 8), what).toBe(res);
                expect(Uint8Array.from(got.slice(HDR)), what).toEqual(payload);
                d.close();
                drivers.pop();
            }
        });
    }
});
