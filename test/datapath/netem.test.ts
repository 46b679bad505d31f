/**
 * The egress impairment qdisc against a fake clock: delays, jitter,
 * reordering, loss and duplication from its seeded RNG, and the token
 * bucket, checked frame by frame and statistically (seeded, so the
 * figures are the same every run; the bounds are what a correct
 * mechanism meets for any seed).
 */
import { describe, expect, it } from 'vitest';
import type { ImpairmentPlan } from '../../src/core/plan.js';
import { Netem, type Scheduler, type Timed } from '../../src/datapath/ports/netem.js';
import { Frame } from '../../src/datapath/virtio/frame.js';

class FakeClock implements Scheduler {
    t = 0;
    armed: Timed[] = [];
    clock(): number {
        return this.t;
    }
    arm(t: Timed): void {
        if (!this.armed.includes(t)) this.armed.push(t);
    }
    /** Advances to `until`, running the qdisc at each due time as the engine's timer would. */
    advance(q: Netem, until: number): void {
        for (;;) {
            const d = q.due;
            if (d > until) break;
            this.t = Math.max(this.t, d);
            q.run(this.t);
        }
        this.t = until;
    }
}

interface Sent {
    seq: number;
    at: number;
    len: number;
}

function harness(spec: ImpairmentPlan, seed = 1, limit?: number) {
    const clock = new FakeClock();
    const sent: Sent[] = [];
    const drops: Record<string, number> = {};
    const q = new Netem(
        spec,
        2048,
        clock,
        (f) => sent.push({ seq: (f.mem.u8[f.off + 14] << 8) | f.mem.u8[f.off + 15], at: clock.t, len: f.len }),
        (r) => (drops[r] = (drops[r] ?? 0) + 1),
        seed,
        limit,
    );
    const buf = new ArrayBuffer(2048);
    const f = new Frame();
    f.mem = { u8: new Uint8Array(buf), i32: new Int32Array(buf), addr: 0 };
    const send = (seq: number, len = 100) => {
        f.len = len;
        f.mem.u8[14] = seq >> 8;
        f.mem.u8[15] = seq & 0xff;
        q.enqueue(f);
        // The caller's buffer is reused: the qdisc must have copied it.
        f.mem.u8[14] = 0xff;
        f.mem.u8[15] = 0xff;
    };
    return { clock, sent, drops, q, send };
}

/** Half-width of the two-sided 99.9 % normal interval of a binomial count. */
function binomialBounds(n: number, p: number): [number, number] {
    const sd = Math.sqrt(n * p * (1 - p));
    return [n * p - 3.29 * sd, n * p + 3.29 * sd];
}

describe('netem qdisc (fake clock)', () => {
    it('holds every frame exactly the delay, in order, and arms a wake-up instead of being polled', () => {
        const { clock, sent, q, send } = harness({ delayUs: 20_000 });
        for (let i = 0; i < 30; i++) {
            clock.t = i * 0.5;
            send(i);
        }
        expect(sent).toHaveLength(0);
        expect(clock.armed).toEqual([q]);
        expect(q.due).toBe(20);
        clock.advance(q, 19.99);
        expect(sent).toHaveLength(0);
        clock.advance(q, 100);
        expect(sent.map((s) => s.seq)).toEqual([...Array(30).keys()]);
        for (const s of sent) expect(s.at).toBeCloseTo(s.seq * 0.5 + 20, 9);
        expect(q.report()).toMatchObject({ delayed: 30, reordered: 0, backlog: 0, dropped_loss: 0 });
        expect(q.due).toBe(Infinity);
    });

    it('spreads delays over delay ± jitter, and counts the frames that overtake', () => {
        const { clock, sent, q, send } = harness({ delayUs: 10_000, jitterUs: 2_000 }, 7);
        const n = 5000;
        for (let i = 0; i < n; i++) {
            clock.advance(q, i * 0.1);
            send(i % 65536);
        }
        clock.advance(q, n * 0.1 + 50);
        expect(sent).toHaveLength(n);
        const delays = sent.map((s) => s.at - s.seq * 0.1);
        expect(Math.min(...delays)).toBeGreaterThanOrEqual(8 - 1e-9);
        expect(Math.max(...delays)).toBeLessThanOrEqual(12 + 1e-9);
        const mean = delays.reduce((a, b) => a + b, 0) / n;
        expect(mean).toBeGreaterThan(9.9);
        expect(mean).toBeLessThan(10.1);
        // Uniform on [8,12]: about a quarter below 9.
        const low = delays.filter((d) => d < 9).length;
        const [lo, hi] = binomialBounds(n, 0.25);
        expect(low).toBeGreaterThan(lo);
        expect(low).toBeLessThan(hi);
        // Overtakes, counted from the output order: each frame sent before one that came earlier.
        let overtook = 0;
        const seen = sent.map((s) => s.seq);
        for (let i = 0; i < seen.length; i++) {
            if (seen.slice(i + 1).some((x) => x < seen[i])) overtook++;
        }
        expect(overtook).toBeGreaterThan(0);
        expect(q.report().reordered).toBeGreaterThan(0);
        expect(q.report().reordered).toBeLessThanOrEqual(n);
    });

    it('loses a binomial share of frames, duplicates another, from a seeded RNG (same seed, same frames)', () => {
        const run = (seed: number) => {
            const h = harness({ lossPct: 10, duplicatePct: 2 }, seed);
            for (let i = 0; i < 20_000; i++) h.send(i % 65536);
            return h;
        };
        const a = run(42);
        const n = 20_000;
        const c = a.q.report();
        const [llo, lhi] = binomialBounds(n, 0.1);
        expect(c.dropped_loss).toBeGreaterThan(llo);
        expect(c.dropped_loss).toBeLessThan(lhi);
        expect(a.drops['impair-loss']).toBe(c.dropped_loss);
        const [dlo, dhi] = binomialBounds(n - c.dropped_loss, 0.02);
        expect(c.duplicated).toBeGreaterThan(dlo);
        expect(c.duplicated).toBeLessThan(dhi);
        expect(a.sent).toHaveLength(n - c.dropped_loss + c.duplicated);
        // Nothing delayed: sent at once, a duplicate right after its original.
        expect(c.backlog).toBe(0);
        expect(run(42).sent.map((s) => s.seq)).toEqual(a.sent.map((s) => s.seq));
        expect(run(43).sent.map((s) => s.seq)).not.toEqual(a.sent.map((s) => s.seq));
    });

    it('reorder sends its share at once, ahead of the delayed frames', () => {
        const { clock, sent, q, send } = harness({ delayUs: 10_000, reorderPct: 25 }, 3);
        const n = 4000;
        for (let i = 0; i < n; i++) {
            clock.advance(q, i * 0.05);
            send(i % 65536);
        }
        clock.advance(q, n * 0.05 + 20);
        expect(sent).toHaveLength(n);
        const immediate = sent.filter((s) => Math.abs(s.at - s.seq * 0.05) < 1e-9).length;
        const delayed = sent.filter((s) => Math.abs(s.at - s.seq * 0.05 - 10) < 1e-9).length;
        expect(immediate + delayed).toBe(n);
        const [lo, hi] = binomialBounds(n, 0.25);
        expect(immediate).toBeGreaterThan(lo);
        expect(immediate).toBeLessThan(hi);
        expect(q.report().delayed).toBe(delayed);
        expect(q.report().reordered).toBeGreaterThan(0);
        expect(q.report().reordered).toBeLessThanOrEqual(immediate);
    });

    it('the token bucket sends at the rate, queues the excess, drops past the limit', () => {
        // 8 Mbit/s = 1000 bytes per ms; offered: 1000-byte frames at 4 per ms for 1 s.
        const { clock, sent, q, send, drops } = harness({ rateBps: 8_000_000 }, 1, 200);
        for (let i = 0; i < 4000; i++) {
            clock.advance(q, i * 0.25);
            send(i % 65536, 1000);
        }
        const end = 1000;
        clock.advance(q, end);
        const bytesBy = (t: number) => sent.filter((s) => s.at <= t).reduce((a, s) => a + s.len, 0);
        // From 100 ms on, the sent bytes track rate × time (plus the initial burst of 5 ms).
        for (const t of [100, 500, 1000]) {
            expect(bytesBy(t)).toBeGreaterThanOrEqual(t * 1000 - 1000);
            expect(bytesBy(t)).toBeLessThanOrEqual(t * 1000 + 5000 + 1000);
        }
        const c = q.report();
        expect(c.backlog).toBeLessThanOrEqual(200);
        expect(c.dropped_limit).toBe(4000 - sent.length - c.backlog);
        expect(drops['impair-limit']).toBe(c.dropped_limit);
        expect(sent.map((s) => s.seq)).toEqual([...sent.map((s) => s.seq)].sort((a, b) => a - b));
        // Drains at the rate once the offer stops.
        clock.advance(q, end + 300);
        expect(q.report().backlog).toBe(0);
        const last = sent[sent.length - 1].at;
        expect(last).toBeGreaterThan(end + 190);
        expect(last).toBeLessThan(end + 210);
    });

    it('changes in place: a new delay applies to new frames, held frames keep their time', () => {
        const { clock, sent, q, send } = harness({ delayUs: 50_000 });
        send(1);
        q.set({ delayUs: 10_000 });
        clock.t = 1;
        send(2);
        clock.advance(q, 100);
        expect(sent.map((s) => [s.seq, s.at])).toEqual([
            [2, 11],
            [1, 50],
        ]);
        expect(q.report().reordered).toBe(1);
    });

    it('rate and delay together: delayed first, then paced', () => {
        const { clock, sent, q, send } = harness({ delayUs: 5_000, rateBps: 800_000 }); // 100 B per ms
        for (let i = 0; i < 20; i++) send(i, 1000); // bucket 4096 B: 4 at once, then one per 10 ms
        clock.advance(q, 1000);
        expect(sent).toHaveLength(20);
        expect(sent.slice(0, 4).every((s) => s.at === 5)).toBe(true);
        expect(sent[4].at).toBeGreaterThan(5);
        expect(sent[19].at - sent[4].at).toBeCloseTo(150, 6);
    });
});
