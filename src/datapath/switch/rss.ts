/**
 * Toeplitz flow hash (the RSS hash NICs compute) over (sip, dip, sport,
 * dport) for IPv4/IPv6 TCP/UDP, over the addresses for other IP, and over
 * the MAC pair otherwise, so one flow always maps to one queue. Per-byte
 * lookup tables make it a few dozen table reads per packet, and a one-entry
 * cache of the last IPv4 TCP/UDP 4-tuple skips even those for the rest of a
 * burst (measured: the hash was 18 % of the switch's time with 2 queue
 * pairs; 64 B went from 6.0 to 7.35 Mpps in bench/datapath/compare.ts).
 * The cache is checked with word loads on the usual frame layout: with byte
 * loads the check alone was still 11 % of the switch's time.
 */
import type { Frame } from '../virtio/frame.js';

/** The key from Microsoft's RSS specification (what most NICs default to). */
export const DEFAULT_KEY = Uint8Array.from([
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

const MAX_INPUT = 36; // IPv6 4-tuple

function buildTables(key: Uint8Array): Int32Array {
    const t = new Int32Array(MAX_INPUT * 256);
    for (let pos = 0; pos < MAX_INPUT; pos++) {
        for (let bitIdx = 0; bitIdx < 8; bitIdx++) {
            // The 32-bit key window starting at input bit (pos*8 + bitIdx).
            const start = pos * 8 + bitIdx;
            let w = 0;
            for (let k = 0; k < 32; k++) {
                const kb = start + k;
                const byte = key[kb >> 3] ?? 0;
                w = (w << 1) | ((byte >> (7 - (kb & 7))) & 1);
            }
            const mask = 0x80 >> bitIdx;
            for (let v = 0; v < 256; v++) if (v & mask) t[pos * 256 + v] ^= w;
        }
    }
    return t;
}

const T = buildTables(DEFAULT_KEY);

/** Toeplitz hash of `len` bytes of u8 at `off` (≤ 36 bytes). */
export function toeplitz(u8: Uint8Array, off: number, len: number): number {
    let h = 0;
    for (let i = 0; i < len; i++) h ^= T[i * 256 + u8[off + i]];
    return h >>> 0;
}

// Input assembled here when fields are not contiguous in the frame.
const inp = new Uint8Array(MAX_INPUT);
// The last untagged, option-less IPv4 TCP/UDP 4-tuple hashed (as the four
// little-endian words that hold it, masked to its 12 bytes) and its hash.
let last6 = 0;
let last7 = 0;
let last8 = 0;
let last9 = 0;
let lastHash = 0;
let haveLast = false;

/** The flow hash of a frame (cached in frame.hash). */
export function flowHash(f: Frame): number {
    if (f.hash >= 0) return f.hash;
    const u8 = f.mem.u8;
    const o = f.off;
    const len = f.len;
    // The common frame (word-aligned, no VLAN tag, IPv4 without options,
    // TCP/UDP, not a fragment) checked with six word loads; its 4-tuple is
    // then contiguous at bytes 26-37 and hashed in place.
    if ((o & 3) === 0 && len >= 40) {
        const i32 = f.mem.i32;
        const k = o >>> 2;
        const w5 = i32[k + 5];
        const proto = w5 >>> 24;
        if ((i32[k + 3] & 0xffffff) === 0x450008 && (w5 & 0xff3f) === 0 && (proto === 6 || proto === 17)) {
            const w6 = i32[k + 6] >>> 16;
            const w7 = i32[k + 7];
            const w8 = i32[k + 8];
            const w9 = i32[k + 9] & 0xffff;
            if (haveLast && w7 === last7 && w8 === last8 && w6 === last6 && w9 === last9) {
                f.hash = lastHash;
                return lastHash;
            }
            const h = toeplitz(u8, o + 26, 12);
            last6 = w6;
            last7 = w7;
            last8 = w8;
            last9 = w9;
            lastHash = h;
            haveLast = true;
            f.hash = h;
            return h;
        }
    }
    let l3 = o + 14;
    let et = (u8[o + 12] << 8) | u8[o + 13];
    if (et === 0x8100 && len >= 18) {
        et = (u8[o + 16] << 8) | u8[o + 17];
        l3 += 4;
    }
    let h: number;
    if (et === 0x0800 && l3 + 20 <= o + len) {
        const ihl = (u8[l3] & 0xf) * 4;
        const proto = u8[l3 + 9];
        const frag = ((u8[l3 + 6] & 0x3f) << 8) | u8[l3 + 7];
        const a = l3 + 12;
        const l4 = l3 + ihl;
        if ((proto === 6 || proto === 17) && frag === 0 && ihl >= 20 && l4 + 4 <= o + len) {
            for (let i = 0; i < 8; i++) inp[i] = u8[a + i];
            for (let i = 0; i < 4; i++) inp[8 + i] = u8[l4 + i];
            h = toeplitz(inp, 0, 12);
        } else {
            for (let i = 0; i < 8; i++) inp[i] = u8[a + i];
            h = toeplitz(inp, 0, 8);
        }
    } else if (et === 0x86dd && l3 + 40 <= o + len) {
        const nh = u8[l3 + 6];
        for (let i = 0; i < 32; i++) inp[i] = u8[l3 + 8 + i];
        const l4 = l3 + 40;
        if ((nh === 6 || nh === 17) && l4 + 4 <= o + len) {
            for (let i = 0; i < 4; i++) inp[32 + i] = u8[l4 + i];
            h = toeplitz(inp, 0, 36);
        } else h = toeplitz(inp, 0, 32);
    } else {
        h = toeplitz(u8, o, 12);
    }
    f.hash = h;
    return h;
}

/** Entries in an RSS indirection table (what Linux gives most NICs). */
export const RETA_SIZE = 128;

/**
 * The indirection table a NIC picks a queue with: queue = table[hash &
 * (RETA_SIZE - 1)], filled round-robin over `queues` like Linux's default.
 * (A lookup instead of `hash % queues`: the hash is an unsigned 32-bit value,
 * outside V8's small integers, so `%` is a floating-point remainder.)
 */
export function indirectionTable(queues: number): Uint8Array {
    const t = new Uint8Array(RETA_SIZE);
    for (let i = 0; i < RETA_SIZE; i++) t[i] = i % Math.max(1, queues);
    return t;
}

/** The queue (an index into what `table` was built over) the NIC gives this frame. */
export function rssQueue(table: Uint8Array, f: Frame): number {
    return table[flowHash(f) & (RETA_SIZE - 1)];
}
