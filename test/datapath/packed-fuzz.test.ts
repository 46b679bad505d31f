/**
 * A hostile driver on a packed ring, in process: seeded random descriptor
 * rings (random flags, wrap bits, lengths, addresses in and far outside
 * guest memory, indirect tables of random entries) served by the TX and RX
 * paths the ports run. The ring must never throw, must report only its own
 * error codes, and every buffer it hands out must lie inside the region.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { frameFromTxChain, RxWriter } from '../../src/datapath/virtio/net.js';
import { Chain, RingError } from '../../src/datapath/virtio/split-ring.js';
import { frameBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { Rng } from '../support/rng.js';
import { Driver, GPA, SIZE } from './ring-harness.js';

const CODES = new Set<number>(Object.values(RingError));
const drivers: Driver<'packed'>[] = [];
afterEach(() => {
    for (const d of drivers.splice(0)) d.close();
});
const scratch = frameBuffer(65536 + 64);

function randomAddr(r: Rng, len: number): number {
    if (r.chance(0.8)) return GPA + 0x20000 + r.int(SIZE - 0x20000 - Math.min(len, 0x10000));
    return r.chance(0.5) ? r.int(GPA) : GPA + SIZE - r.int(64);
}

function randomFlags(r: Rng, d: Driver<'packed'>): number {
    let f = 0;
    if (r.chance(0.3)) f |= 1; // NEXT
    if (r.chance(0.5)) f |= 2; // WRITE
    if (r.chance(0.1)) f |= 4; // INDIRECT
    // Mostly "available in the current lap", sometimes any wrap bits.
    f |= r.chance(0.85) ? d.driver.availBits() : (r.int(4) & 1 ? 1 << 7 : 0) | (r.int(4) & 2 ? 1 << 15 : 0);
    return f;
}

describe('packed ring under a hostile driver', () => {
    for (const seed of [1, 2, 3, 4]) {
        it(`seed ${seed}: 400 random rings, no throw, only ring error codes, buffers inside the region`, () => {
            const r = new Rng(seed);
            const tally = new Map<number, number>();
            for (let n = 0; n < 400; n++) {
                const d = new Driver(32, r.chance(0.5), 'packed');
                drivers.push(d);
                for (let i = 0; i < 32; i++) {
                    const len = r.chance(0.2) ? r.int(0x10000) : 16 * r.int(8);
                    const flags = randomFlags(r, d);
                    const addr = randomAddr(r, len);
                    if (flags & 4 && addr >= GPA + 0x20000 && addr + 128 <= GPA + SIZE && r.chance(0.7)) for (let k = 0; k < 8; k++) d.setIndirect(addr, k, randomAddr(r, 2048), r.int(3000), r.int(8));
                    d.driver.writeRaw(i, addr, len, r.int(65536), flags);
                }
                const ring = d.ring;
                const rx = r.chance(0.5);
                const writer = new RxWriter(new Chain());
                const chain = new Chain();
                const f = new Frame();
                f.mem = scratch.mem;
                f.off = scratch.off;
                f.len = 60 + r.int(3000);
                let code = 0;
                for (let step = 0; step < 64 && code === 0; step++) {
                    const p = ring.pending();
                    if (p < 0) { code = p; break; }
                    if (p === 0) break;
                    if (rx) {
                        const res = writer.write(ring, f, 12, r.chance(0.5));
                        if (writer.error) { code = writer.error; break; }
                        if (res === 0) break;
                    } else {
                        const h = ring.takeHead();
                        const e = ring.walk(h, chain, false);
                        if (e !== 0) { code = e; break; }
                        for (let s = 0; s < chain.n; s++) {
                            expect(chain.off[s] + chain.len[s], `seed ${seed} case ${n}`).toBeLessThanOrEqual(ring.region(chain.region[s]).size);
                            expect(chain.off[s]).toBeGreaterThanOrEqual(0);
                        }
                        frameFromTxChain(ring, chain, 12, f, () => scratch);
                        ring.pushUsed(h, 0);
                    }
                    ring.publish();
                    ring.needCall();
                }
                expect(code === 0 || CODES.has(code), `seed ${seed} case ${n}: code ${code}`).toBe(true);
                tally.set(code, (tally.get(code) ?? 0) + 1);
                d.close();
                drivers.pop();
            }
            // The generator reached both clean runs and refusals.
            expect(tally.get(0) ?? 0).toBeGreaterThan(0);
            expect([...tally.keys()].filter((k) => k < 0).length).toBeGreaterThan(1);
        });
    }
});
