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
 * Copies n bytes. Within one buffer (the guest memory arena) `copyWithin`
 * from 81 bytes up: it costs ~25 ns whatever the size below a few hundred
 * bytes, where the word loop takes 14 ns at 64 B, 28 at 88 and 40 at 128
 * (micro-benchmark). Between separate buffers a word loop up to 256 bytes
 * for aligned frames, since `set` needs a new `subarray` view per call.
 */
export function copyBytes(src: Mem, srcOff: number, dst: Mem, dstOff: number, n: number): void {
    if (n > 80 && src.u8 === dst.u8) {
        dst.u8.copyWithin(dstOff, srcOff, srcOff + n);
        return;
    }
    if (n <= 256 && ((srcOff | dstOff) & 3) === 0) {
        const s = src.i32;
        const d = dst.i32;
        const words = n >>> 2;
        let si = srcOff >>> 2;
        let di = dstOff >>> 2;
        for (let k = 0; k < words; k++) d[di++] = s[si++];
        const done = words << 2;
        for (let k = done; k < n; k++) dst.u8[dstOff + k] = src.u8[srcOff + k];
        return;
    }
    if (n < 64) {
        const s = src.u8;
        const d = dst.u8;
        for (let k = 0; k < n; k++) d[dstOff + k] = s[srcOff + k];
        return;
    }
    if (src.u8 === dst.u8) dst.u8.copyWithin(dstOff, srcOff, srcOff + n);
    else dst.u8.set(src.u8.subarray(srcOff, srcOff + n), dstOff);
}
