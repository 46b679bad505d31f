/**
 * The frame being switched, as a view (memory, offset, length) so the hot
 * path never allocates: a source ring's buffer when the frame is contiguous
 * there, else a native scratch buffer it was gathered into.
 */
import type { Mem } from './guest-memory.js';

export class Frame {
    mem!: Mem;
    off = 0;
    len = 0;
    /** Toeplitz flow hash, computed at most once per frame (-1 = not yet). */
    hash = -1;
    /** Patch-link hops, against loops between bridges. */
    hops = 0;
}

/**
 * Copies n bytes. Aligned frames up to 160 bytes (256 between separate
 * buffers) by a word loop unrolled four times: the plain loop took 15 ns at
 * 64 B and 38 at 128, the unrolled one 12-13 and 20 (micro-benchmark; the
 * four loads issue before the four stores). Within one buffer (the guest
 * memory arena) `copyWithin` beyond that: ~25 ns whatever the size below a
 * few hundred bytes. Between separate buffers `set` needs a new `subarray`
 * view per call (~50 ns and garbage).
 */
export function copyBytes(src: Mem, srcOff: number, dst: Mem, dstOff: number, n: number): void {
    const one = src.u8 === dst.u8;
    if (((srcOff | dstOff) & 3) === 0 && n <= (one ? 160 : 256)) {
        const s = src.i32;
        const d = dst.i32;
        let si = srcOff >>> 2;
        let di = dstOff >>> 2;
        const end = si + ((n >>> 4) << 2);
        for (; si < end; si += 4, di += 4) {
            const a = s[si];
            const b = s[si + 1];
            const c = s[si + 2];
            const e = s[si + 3];
            d[di] = a;
            d[di + 1] = b;
            d[di + 2] = c;
            d[di + 3] = e;
        }
        for (let k = (n >>> 2) & 3; k > 0; k--) d[di++] = s[si++];
        for (let k = n & ~3; k < n; k++) dst.u8[dstOff + k] = src.u8[srcOff + k];
        return;
    }
    if (one) {
        dst.u8.copyWithin(dstOff, srcOff, srcOff + n);
        return;
    }
    if (n < 64) {
        const s = src.u8;
        const d = dst.u8;
        for (let k = 0; k < n; k++) d[dstOff + k] = s[srcOff + k];
        return;
    }
    dst.u8.set(src.u8.subarray(srcOff, srcOff + n), dstOff);
}
