/**
 * virtio-net framing on split and packed rings: reading a frame out of a TX chain
 * (skipping the virtio_net_hdr) and writing one into RX buffers, across as
 * many descriptors as it takes and, with MRG_RXBUF, as many chains.
 */
import { copyBytes, Frame } from './frame.js';
import type { FrameBuffer, Mem } from './guest-memory.js';
import type { Ring } from './ring.js';
import type { Chain } from './split-ring.js';

/** Outcomes of writing one frame to an RX ring (>0 = chains used). */
export const RX_NO_ROOM = 0;
export const RX_TOO_SMALL = -1;

/**
 * Points `frame` at the packet in a walked TX chain. Returns 0, or -1 when
 * the chain is shorter than the header, -2 when it is too long for scratch
 * (asked for only when the frame must be gathered from several buffers).
 */
export function frameFromTxChain(ring: Ring, chain: Chain, hdrLen: number, frame: Frame, scratchBuffer: () => FrameBuffer): number {
    const dataLen = chain.total - hdrLen;
    if (dataLen <= 0) return -1;
    let s = 0;
    let skip = hdrLen;
    while (s < chain.n && skip >= chain.len[s]) skip -= chain.len[s++];
    // Common cases: header and frame in one buffer, or the frame alone in the next.
    if (chain.len[s] - skip >= dataLen) {
        frame.mem = ring.region(chain.region[s]);
        frame.off = chain.off[s] + skip;
        frame.len = dataLen;
        frame.hash = -1;
        return 0;
    }
    const scratch = scratchBuffer();
    if (dataLen > scratch.len) return -2;
    let at = scratch.off;
    for (; s < chain.n; s++) {
        const n = chain.len[s] - skip;
        copyBytes(ring.region(chain.region[s]), chain.off[s] + skip, scratch.mem, at, n);
        at += n;
        skip = 0;
    }
    frame.mem = scratch.mem;
    frame.off = scratch.off;
    frame.len = dataLen;
    frame.hash = -1;
    return 0;
}

/**
 * The usual TX frame: header and packet in the one descriptor `walkOne`
 * resolved at `off`. Points `frame` at the packet; false when the
 * descriptor holds no more than the header (the full path then reports it).
 */
export function frameFromOne(ring: Ring, off: number, hdrLen: number, frame: Frame): boolean {
    const len = ring.oneLen - hdrLen;
    if (off < 0 || len <= 0) return false;
    frame.mem = ring.hitRegion();
    frame.off = off + hdrLen;
    frame.len = len;
    frame.hash = -1;
    return true;
}

export class RxWriter {
    /** Heads and lengths of the chains a frame is spread over (mergeable). */
    private readonly heads = new Uint32Array(256);
    private readonly lens = new Uint32Array(256);
    /** Set when a walk failed: the RingError code, for the owner to mark the device failed. */
    error = 0;

    constructor(private readonly chain: Chain) {}

    /**
     * Writes header + frame into the ring's available RX buffers. Returns the
     * number of chains used (>0), RX_NO_ROOM (nothing taken; retry later) or
     * RX_TOO_SMALL (without mergeable buffers the next chain cannot hold it);
     * on a malformed chain sets `error` and returns RX_NO_ROOM.
     */
    write(ring: Ring, frame: Frame, hdrLen: number, mergeable: boolean): number {
        const mark = ring.lastAvail;
        const chain = this.chain;
        let remainingHdr = hdrLen;
        let srcOff = frame.off;
        let left = frame.len;
        let used = 0;
        // Where num_buffers (header bytes 10-11) went, to patch it at the end.
        let nbMem: Mem | undefined;
        let nbOff = 0;
        let nbMem2: Mem | undefined;
        let nbOff2 = 0;
        let pending = ring.pending();
        if (pending < 0) {
            this.error = pending;
            return RX_NO_ROOM;
        }
        // Fast path: the first chain's first buffer holds header and frame (the usual 2 KB+ buffers).
        if (pending > 0) {
            const head = ring.takeHead();
            pending--;
            const off = ring.walkOne(head, true);
            if (off >= 0 && ring.oneLen >= hdrLen + left) {
                const mem = ring.hitRegion();
                const u8 = mem.u8;
                if ((off & 3) === 0) {
                    const w = off >>> 2;
                    mem.i32[w] = 0;
                    mem.i32[w + 1] = 0;
                    if (hdrLen === 12) mem.i32[w + 2] = 1 << 16; // num_buffers = 1
                    else u8[off + 8] = u8[off + 9] = 0;
                } else {
                    for (let k = 0; k < hdrLen; k++) u8[off + k] = 0;
                    if (hdrLen === 12) u8[off + 10] = 1;
                }
                copyBytes(frame.mem, srcOff, mem, off + hdrLen, left);
                ring.pushUsed(head, hdrLen + left);
                return 1;
            }
            ring.rewind(mark);
            pending++;
        }
        while (remainingHdr > 0 || left > 0) {
            if (pending === 0 || used >= 256) {
                ring.rewind(mark);
                return RX_NO_ROOM;
            }
            const head = ring.takeHead();
            pending--;
            const e = ring.walk(head, chain, true);
            if (e !== 0) {
                ring.rewind(mark);
                this.error = e;
                return RX_NO_ROOM;
            }
            let written = 0;
            for (let s = 0; s < chain.n && (remainingHdr > 0 || left > 0); s++) {
                const mem = ring.region(chain.region[s]);
                let off = chain.off[s];
                let room = chain.len[s];
                while (remainingHdr > 0 && room > 0) {
                    const pos = hdrLen - remainingHdr;
                    mem.u8[off] = 0;
                    if (pos === 10) {
                        nbMem = mem;
                        nbOff = off;
                    } else if (pos === 11) {
                        nbMem2 = mem;
                        nbOff2 = off;
                    }
                    off++;
                    room--;
                    remainingHdr--;
                    written++;
                }
                if (left > 0 && room > 0) {
                    const n = left < room ? left : room;
                    copyBytes(frame.mem, srcOff, mem, off, n);
                    srcOff += n;
                    left -= n;
                    written += n;
                }
            }
            this.heads[used] = head;
            this.lens[used] = written;
            used++;
            if (left > 0 && !mergeable) {
                ring.rewind(mark);
                return RX_TOO_SMALL;
            }
        }
        if (hdrLen === 12 && nbMem !== undefined) {
            nbMem.u8[nbOff] = used & 0xff;
            if (nbMem2 !== undefined) nbMem2.u8[nbOff2] = used >>> 8;
        }
        for (let k = 0; k < used; k++) ring.pushUsed(this.heads[k], this.lens[k]);
        return used;
    }
}
