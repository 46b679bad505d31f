/**
 * The impairment qdisc on a port's egress, as Linux netem does it: loss and
 * duplication drawn from a seeded RNG, a delay line ordered by send time
 * (jitter and reordering make frames overtake each other), then a token
 * bucket that holds frames until the rate allows them. Held frames are
 * copied out (the caller's frame is only valid during the call) and sent
 * when a timer fires: the engine arms one timer for the earliest due time
 * of all qdiscs, so nothing polls while frames wait.
 */
import type { ImpairCounters } from '../../core/control.js';
import type { ImpairmentPlan } from '../../core/plan.js';
import { allocNative } from '../sys/libc.js';
import { copyBytes, Frame } from '../virtio/frame.js';
import type { Mem } from '../virtio/guest-memory.js';

/** Frames held at once (delay line + rate queue), netem's default limit. */
export const NETEM_LIMIT = 1000;
const CHUNK = 64;

/** What a qdisc needs from the engine: the clock (ms) and a wake-up at its due time. */
export interface Scheduler {
    clock(): number;
    /** Call `t.run(now)` at about `t.due` (ms); `t.due` is re-read after each run. */
    arm(t: Timed): void;
}

export interface Timed {
    /** Milliseconds (scheduler clock) when it has work; Infinity when none. */
    readonly due: number;
    run(now: number): void;
}

export type NetemCounters = ImpairCounters;

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** FNV-1a of a string: a stable seed per port. */
export function seedOf(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
}

export class Netem implements Timed {
    private spec: Required<ImpairmentPlan> = { delayUs: 0, jitterUs: 0, lossPct: 0, duplicatePct: 0, reorderPct: 0, rateBps: 0 };
    private readonly chunks: Mem[] = [];
    private readonly free: number[] = [];
    private lens = new Uint32Array(0);
    private hops = new Uint8Array(0);
    private sendAt = new Float64Array(0);
    /** Slot numbers by send time (the delay line), then the FIFO the token bucket serves. */
    private line: number[] = [];
    private rateq: number[] = [];
    private tokens = 0;
    private burst = 0;
    private lastFill = 0;
    private readonly out = new Frame();
    private rng: () => number;
    private running = false;
    readonly counters: NetemCounters = { delayed: 0, dropped_loss: 0, dropped_limit: 0, duplicated: 0, reordered: 0, backlog: 0 };

    constructor(
        spec: ImpairmentPlan,
        private readonly slotSize: number,
        private readonly sched: Scheduler,
        /** Sends a frame on (the port's own transmit); must copy it before returning. */
        private readonly send: (f: Frame) => void,
        /** Counts a drop on the port. */
        private readonly drop: (reason: string) => void,
        seed: number,
        readonly limit = NETEM_LIMIT,
    ) {
        this.rng = seededRandom(seed);
        this.set(spec);
    }

    /** Changes the impairment in place; frames already held keep their send times. */
    set(spec: ImpairmentPlan): void {
        this.spec = {
            delayUs: spec.delayUs ?? 0,
            jitterUs: spec.jitterUs ?? 0,
            lossPct: spec.lossPct ?? 0,
            duplicatePct: spec.duplicatePct ?? 0,
            reorderPct: spec.reorderPct ?? 0,
            rateBps: spec.rateBps ?? 0,
        };
        // Room for 5 ms of traffic (timer lateness must not cost rate) and at least two big frames.
        this.burst = Math.max(2 * this.slotSize, (this.spec.rateBps / 8) * 0.005);
        this.tokens = Math.min(this.tokens || this.burst, this.burst);
        this.lastFill = this.sched.clock();
        this.sched.arm(this);
    }

    get due(): number {
        let d = Infinity;
        if (this.line.length > 0) d = this.sendAt[this.line[0]];
        if (this.rateq.length > 0) {
            const need = this.lens[this.rateq[0]] - this.tokens;
            const t = need <= 1e-6 || this.spec.rateBps === 0 ? this.lastFill : this.lastFill + (need * 8000) / this.spec.rateBps + 1e-9;
            if (t < d) d = t;
        }
        return d;
    }

    get held(): number {
        return this.line.length + this.rateq.length;
    }

    /** A frame leaving through the port. */
    enqueue(f: Frame): void {
        const s = this.spec;
        if (s.lossPct > 0 && this.rng() * 100 < s.lossPct) {
            this.counters.dropped_loss++;
            this.drop('impair-loss');
            return;
        }
        const dup = s.duplicatePct > 0 && this.rng() * 100 < s.duplicatePct;
        this.admit(f);
        if (dup) {
            this.counters.duplicated++;
            this.admit(f);
        }
    }

    private admit(f: Frame): void {
        const s = this.spec;
        const now = this.sched.clock();
        if (s.delayUs === 0 && s.rateBps === 0 && this.held === 0) {
            this.send(f);
            return;
        }
        if (this.held >= this.limit || f.len > this.slotSize) {
            this.counters.dropped_limit++;
            this.drop('impair-limit');
            return;
        }
        const slot = this.store(f);
        let at = now;
        if (s.delayUs > 0 && !(s.reorderPct > 0 && this.rng() * 100 < s.reorderPct)) {
            const jitter = s.jitterUs > 0 ? (2 * this.rng() - 1) * s.jitterUs : 0;
            at = now + Math.max(0, s.delayUs + jitter) / 1000;
            this.counters.delayed++;
        }
        this.sendAt[slot] = at;
        // Insert by send time, searching from the tail (a constant delay appends).
        const line = this.line;
        let i = line.length;
        while (i > 0 && this.sendAt[line[i - 1]] > at) i--;
        if (i < line.length) this.counters.reordered++;
        line.splice(i, 0, slot);
        // Due now (rate only, or reordered): sent at once when the bucket allows, not a timer tick later.
        if (this.sendAt[line[0]] <= now && !this.running) this.run(now);
        else this.sched.arm(this);
    }

    /** Sends what is due: delay line → token bucket → port. */
    run(now: number): void {
        if (this.running) return;
        this.running = true;
        try {
            this.release(now);
        } finally {
            this.running = false;
        }
        if (this.held > 0) this.sched.arm(this);
    }

    private release(now: number): void {
        const line = this.line;
        const rated = this.spec.rateBps > 0;
        while (line.length > 0 && this.sendAt[line[0]] <= now) {
            const slot = line.shift()!;
            if (rated || this.rateq.length > 0) this.rateq.push(slot);
            else this.emit(slot);
        }
        if (this.rateq.length > 0) {
            if (rated) {
                this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastFill) * this.spec.rateBps) / 8000);
            } else this.tokens = Infinity;
            this.lastFill = now;
            // (The slack absorbs rounding: a bucket a hair short at its due time must not wait for a tick of 0 ms.)
            while (this.rateq.length > 0 && this.lens[this.rateq[0]] <= this.tokens + 1e-6) {
                const slot = this.rateq.shift()!;
                this.tokens -= this.lens[slot];
                this.emit(slot);
            }
            if (!rated) this.tokens = this.burst;
        }
    }

    /** Drops everything held (the port goes, or the impairment is cleared with frames still held: they leave now). */
    flushAll(send: boolean): void {
        const all = [...this.line, ...this.rateq];
        this.line = [];
        this.rateq = [];
        for (const slot of all) {
            if (send) this.emit(slot);
            else this.free.push(slot);
        }
    }

    report(): NetemCounters {
        return { ...this.counters, backlog: this.held };
    }

    private emit(slot: number): void {
        const o = this.out;
        const c = this.chunks[(slot / CHUNK) | 0];
        o.mem = c;
        o.off = (slot % CHUNK) * this.slotSize;
        o.len = this.lens[slot];
        o.hash = -1;
        o.hops = this.hops[slot];
        try {
            this.send(o);
        } finally {
            this.free.push(slot);
        }
    }

    private store(f: Frame): number {
        if (this.free.length === 0) this.grow();
        const slot = this.free.pop()!;
        const c = this.chunks[(slot / CHUNK) | 0];
        copyBytes(f.mem, f.off, c, (slot % CHUNK) * this.slotSize, f.len);
        this.lens[slot] = f.len;
        this.hops[slot] = f.hops;
        return slot;
    }

    private grow(): void {
        const base = this.chunks.length * CHUNK;
        const n = allocNative(CHUNK * this.slotSize);
        this.chunks.push({ u8: n.u8, i32: new Int32Array(n.u8.buffer, n.u8.byteOffset, n.u8.length >>> 2), addr: n.addr });
        const size = base + CHUNK;
        const lens = new Uint32Array(size);
        lens.set(this.lens);
        this.lens = lens;
        const hops = new Uint8Array(size);
        hops.set(this.hops);
        this.hops = hops;
        const at = new Float64Array(size);
        at.set(this.sendAt);
        this.sendAt = at;
        for (let s = size - 1; s >= base; s--) this.free.push(s);
    }
}
