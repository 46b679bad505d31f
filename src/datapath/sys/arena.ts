/**
 * One reserved range of address space that guest memory regions are mapped
 * into side by side, so every region is a view of a single ArrayBuffer and a
 * frame moves from one guest to another with `copyWithin`. Between separate
 * buffers a copy needs `set(subarray(...))`: a new view per frame, a species
 * lookup and garbage, ~35-40 ns of a ~240 ns 1518-byte forward (perf, loop
 * bench on hugepages). The range is 2 GiB so offsets into it remain small
 * integers (below 2^31) in optimised code: passed to `copyWithin` as larger
 * numbers they would be boxed, and a 1518-byte copy took twice as long in a
 * micro-benchmark. Two 1 GiB guests fill it exactly (QEMU shares each as
 * one region); the switch's own frame buffers are made on first use, after
 * the guests, and go elsewhere when it is full. A region that does not fit is
 * mapped on its own as before (`mapShared`); nothing depends on the arena.
 */
import { fstatSync } from 'node:fs';
import type { ArenaReport } from '../../core/control.js';
import { c, koffi, SysError, errno } from './libc.js';
import { memfd, type Mapping } from './memory.js';
import { closeFd } from './unix-socket.js';

const PROT_NONE = 0;
const PROT_RW = 3;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const RESERVED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
/**
 * hugetlbfs files must start on their page size (st_blksize); everything
 * else is packed a page apart. (Aligning large memfd regions on 2 MiB for
 * transparent huge pages, off for shared memory by default, would leave no
 * room for a second 1 GiB guest.)
 */
const MIN_ALIGN = 2 << 20;
const PAGE = 4096;
export const ARENA_SIZE = 2 ** 31;

const roundUp = (x: number, a: number) => Math.ceil(x / a) * a;

interface Hole {
    off: number;
    len: number;
}

interface Shared {
    at: number;
    slot: number;
    refs: number;
    /** One of the switch's own frame buffers, not guest memory. */
    frames: boolean;
}

export class Arena {
    /** Free slots, sorted by offset, never adjacent (merged on release). */
    private holes: Hole[];
    /**
     * Mapped slots by file and range. A frontend with several ports (testpmd,
     * a VM with two NICs) shares the same memory with each port's device:
     * one mapping for all of them, so it takes its memory's size of the
     * arena once, not once per port.
     */
    private readonly byFile = new Map<string, Shared>();

    private constructor(
        /** Native address of buffer byte 0. */
        readonly addr: number,
        readonly size: number,
        readonly buffer: ArrayBuffer,
    ) {
        this.holes = [{ off: 0, len: size }];
    }

    /** Reserves `size` bytes of address space (no memory: PROT_NONE, MAP_NORESERVE). */
    static reserve(size = ARENA_SIZE): Arena {
        if (!(size > 0) || size % MIN_ALIGN !== 0 || size > 2 ** 31) throw new SysError(`arena of ${size} bytes`, 22);
        const raw = Number(c.mmapAt(0, size + MIN_ALIGN, PROT_NONE, RESERVED, -1, 0));
        if (raw === -1) throw new SysError(`reserve ${size} bytes of address space`, errno());
        const start = roundUp(raw, MIN_ALIGN);
        if (start > raw) c.munmapAt(raw, start - raw);
        const tail = raw + size + MIN_ALIGN - (start + size);
        if (tail > 0) c.munmapAt(start + size, tail);
        // Same range again (ours, so MAP_FIXED clobbers nothing) for a pointer koffi can view.
        const ptr = c.mmapAtPtr(start, size, PROT_NONE, RESERVED | MAP_FIXED, -1, 0);
        if (ptr === null || Number(koffi.address(ptr)) !== start) {
            c.munmapAt(start, size);
            throw new SysError(`reserve ${size} bytes of address space`, errno());
        }
        return new Arena(start, size, koffi.view(ptr, size));
    }

    /** Bytes taken by mapped regions (slots are rounded up to their alignment). */
    get used(): number {
        return this.size - this.holes.reduce((s, h) => s + h.len, 0);
    }

    /**
     * Maps `len` bytes of `fd` from `offset` into a free slot; undefined when
     * no slot fits or the kernel refuses (the caller maps it alone, which
     * reports the real error if the fd is at fault).
     */
    map(fd: number, len: number, offset: number): Mapping | undefined {
        return this.place(fd, len, offset, false);
    }

    private place(fd: number, len: number, offset: number, frames: boolean): Mapping | undefined {
        if (!(len > 0)) return undefined;
        const st = fstatSync(fd);
        // Not a regular file, or too small: mapShared refuses it with the reason.
        if (!st.isFile() || offset + len > st.size) return undefined;
        const key = `${st.dev}:${st.ino}:${offset}:${len}`;
        const known = this.byFile.get(key);
        if (known !== undefined) {
            known.refs++;
            return this.handle(key, known, len);
        }
        const fit = this.hole(len, st.blksize > PAGE ? Math.max(MIN_ALIGN, st.blksize) : PAGE);
        if (fit !== undefined) {
            const { i, at, slot } = fit;
            const r = Number(c.mmapAt(this.addr + at, len, PROT_RW, MAP_SHARED | MAP_FIXED, fd, offset));
            if (r !== this.addr + at) {
                // A failed MAP_FIXED may have dropped the reservation there: put it back.
                this.rereserve(at, slot);
                return undefined;
            }
            this.take(i, at, slot);
            const sh = { at, slot, refs: 1, frames };
            this.byFile.set(key, sh);
            return this.handle(key, sh, len);
        }
        return undefined;
    }

    /** First free slot for `len` bytes starting on `align`. */
    private hole(len: number, align: number): { i: number; at: number; slot: number } | undefined {
        const slot = roundUp(len, align);
        for (let i = 0; i < this.holes.length; i++) {
            const h = this.holes[i];
            const at = roundUp(h.off, align);
            if (at + slot <= h.off + h.len) return { i, at, slot };
        }
        return undefined;
    }

    /** `len` bytes of private memory in the arena (frames the switch holds); undefined when full. */
    block(len: number): Mapping | undefined {
        const fd = memfd('vtopo-frames', roundUp(len, PAGE));
        try {
            return this.place(fd, len, 0, true);
        } finally {
            closeFd(fd);
        }
    }

    /** Of `used`, the bytes of the switch's own frame buffers (the rest is guest memory). */
    get frameBufferBytes(): number {
        let n = 0;
        for (const sh of this.byFile.values()) if (sh.frames) n += sh.slot;
        return n;
    }

    /** Regions mapped (a shared mapping counts once). */
    get mappings(): number {
        return this.byFile.size;
    }

    private handle(key: string, sh: Shared, len: number): Mapping {
        let mapped = true;
        return {
            addr: this.addr + sh.at,
            len,
            base: sh.at,
            buffer: this.buffer,
            unmap: () => {
                if (!mapped) return;
                mapped = false;
                if (--sh.refs > 0) return;
                this.byFile.delete(key);
                // Back to reserved rather than unmapped, so no other mapping lands inside the buffer.
                if (this.rereserve(sh.at, sh.slot)) this.release(sh.at, sh.slot);
            },
        };
    }

    private rereserve(at: number, len: number): boolean {
        return Number(c.mmapAt(this.addr + at, len, PROT_NONE, RESERVED | MAP_FIXED, -1, 0)) === this.addr + at;
    }

    private take(i: number, at: number, len: number): void {
        const h = this.holes[i];
        const rest: Hole[] = [];
        if (at > h.off) rest.push({ off: h.off, len: at - h.off });
        if (at + len < h.off + h.len) rest.push({ off: at + len, len: h.off + h.len - (at + len) });
        this.holes.splice(i, 1, ...rest);
    }

    private release(off: number, len: number): void {
        const hs = this.holes;
        let i = 0;
        while (i < hs.length && hs[i].off < off) i++;
        hs.splice(i, 0, { off, len });
        if (i + 1 < hs.length && off + len === hs[i + 1].off) {
            hs[i].len += hs[i + 1].len;
            hs.splice(i + 1, 1);
        }
        if (i > 0 && hs[i - 1].off + hs[i - 1].len === off) {
            hs[i - 1].len += hs[i].len;
            hs.splice(i, 1);
        }
    }
}

let shared: Arena | null | undefined;
let failure: string | undefined;

/**
 * The process's arena, reserved on first use; null when the address space
 * cannot be reserved (then every region is mapped alone). The reason is
 * logged once, by the first caller that passes a log.
 */
export function guestArena(log?: (m: string) => void): Arena | null {
    if (shared === undefined) {
        try {
            shared = Arena.reserve();
        } catch (e) {
            shared = null;
            failure = `guest memory arena unavailable (${(e as Error).message}); regions are mapped separately, frames over 256 bytes copy more slowly`;
        }
    }
    if (failure !== undefined && log !== undefined) {
        log(failure);
        failure = undefined;
    }
    return shared;
}

/** The process's arena as `status` reports it (null before first use or when unavailable). */
export function arenaReport(): ArenaReport | null {
    if (!shared) return null;
    return { size_bytes: shared.size, used_bytes: shared.used, frame_buffer_bytes: shared.frameBufferBytes, mappings: shared.mappings };
}
