/**
 * Toeplitz flow hash (the RSS hash NICs compute) over (sip, dip, sport,
 * dport) for IPv4/IPv6 TCP/UDP, over the addresses for other IP, and over
 * the MAC pair otherwise, so one flow always maps to one queue. Per-byte
 * lookup tables make it a few dozen table reads per packet, and a one-entry
 * cache of the last IPv4 TCP/UDP 4-tuple skips even those for the rest of a
 * burst (measured: the hash was 18 % of the switch's time with 2 queue
 * pairs; 64 B went from 6.0 to 7.35 Mpps in bench/datapath/compare.ts).
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
// The last IPv4 TCP/UDP 4-tuple hashed (as three words) and its hash.
let last0 = 0;
let last1 = 0;
let last2 = 0;
let lastHash = 0;
let haveLast = false;

/** The flow hash of a frame (cached in frame.hash). */
export function flowHash(f: Frame): number {
    if (f.hash >= 0) return f.hash;
    const u8 = f.mem.u8;
    const o = f.off;
    const len = f.len;
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
            // Frames of one flow come in bursts: the last 4-tuple and its hash.
            const w0 = (u8[a] << 24) | (u8[a + 1] << 16) | (u8[a + 2] << 8) | u8[a + 3];
            const w1 = (u8[a + 4] << 24) | (u8[a + 5] << 16) | (u8[a + 6] << 8) | u8[a + 7];
            const w2 = (u8[l4] << 24) | (u8[l4 + 1] << 16) | (u8[l4 + 2] << 8) | u8[l4 + 3];
            if (haveLast && w0 === last0 && w1 === last1 && w2 === last2) {
                f.hash = lastHash;
                return lastHash;
            }
            for (let i = 0; i < 8; i++) inp[i] = u8[a + i];
            for (let i = 0; i < 4; i++) inp[8 + i] = u8[l4 + i];
            h = toeplitz(inp, 0, 12);
            last0 = w0;
            last1 = w1;
            last2 = w2;
            lastHash = h;
            haveLast = true;
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
