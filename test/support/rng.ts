/**
 * A small seeded PRNG (mulberry32) so a randomized test names the seed that
 * broke it, and every fuzz case is reproducible from (seed, case index)
 * alone: a finding is reported with both and replays without the run that
 * found it.
 */
export class Rng {
    private state: number;

    constructor(seed: number) {
        this.state = seed >>> 0;
    }

    /** A child generator for case `index` of the run with this seed. */
    static forCase(seed: number, index: number): Rng {
        return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
    }

    /** Uniform in [0, 2^32). */
    u32(): number {
        let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
    }

    /** Uniform in [0, 1). */
    float(): number {
        return this.u32() / 0x1_0000_0000;
    }

    /** Uniform integer in [0, n). */
    int(n: number): number {
        return n <= 0 ? 0 : this.u32() % n;
    }

    /** Uniform integer in [lo, hi]. */
    range(lo: number, hi: number): number {
        return lo + this.int(hi - lo + 1);
    }

    chance(p: number): boolean {
        return this.u32() / 0x1_0000_0000 < p;
    }

    pick<T>(items: readonly T[]): T {
        return items[this.int(items.length)];
    }

    /** A 64-bit value as BigInt, biased towards the edges that break bounds checks. */
    u64(): bigint {
        switch (this.int(6)) {
            case 0: return 0n;
            case 1: return 0xffff_ffff_ffff_ffffn - BigInt(this.int(4096));
            case 2: return 1n << BigInt(this.int(64));
            case 3: return (1n << BigInt(this.int(64))) - 1n;
            default: return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
        }
    }

    bytes(n: number): Uint8Array {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
        return out;
    }
}

/** The generator as a function returning floats in [0, 1) (the same sequence as Rng's u32 / 2^32). */
export function rng(seed: number): () => number {
    const r = new Rng(seed);
    return () => r.float();
}
