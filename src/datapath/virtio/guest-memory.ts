/**
 * Guest memory as the frontend shares it (SET_MEM_TABLE): a few regions,
 * each a mapping of an fd. Every guest-supplied address goes through
 * `find`, which checks the whole [addr, addr+len) range lies inside one
 * region; nothing else ever indexes guest memory with an unchecked value.
 * In the guest memory arena one view spans every guest's memory (and the
 * switch's frame buffers), so that check, not the view's length, is what
 * keeps a guest's addresses inside its own regions.
 */
import { guestArena } from '../sys/arena.js';
import { allocNative } from '../sys/libc.js';
import type { Mapping } from '../sys/memory.js';

/** Bytes of memory with typed views; `addr` is the native address of u8[0]. */
export interface Mem {
    u8: Uint8Array;
    i32: Int32Array;
    addr: number;
}

export interface Region extends Mem {
    /** Guest-physical start and size. */
    gpa: number;
    size: number;
    /** Frontend's (QEMU's) user address of the region start. */
    uva: number;
    /** Offset in u8/i32 where the region's first byte lives (the fd's mmap_offset). */
    base: number;
    mapping?: Mapping;
}

/**
 * One pair of views per buffer: regions mapped into the same arena share
 * them, so `copyBytes` can tell by identity that a copy stays inside one
 * buffer (copyWithin, no allocation).
 */
const views = new WeakMap<ArrayBuffer, { u8: Uint8Array; i32: Int32Array }>();

function viewsOf(buffer: ArrayBuffer): { u8: Uint8Array; i32: Int32Array } {
    let v = views.get(buffer);
    if (v === undefined) {
        v = { u8: new Uint8Array(buffer), i32: new Int32Array(buffer, 0, buffer.byteLength >>> 2) };
        views.set(buffer, v);
    }
    return v;
}

export function regionFromBuffer(buffer: ArrayBuffer, addr: number, gpa: number, size: number, uva: number, base: number, mapping?: Mapping): Region {
    const { u8, i32 } = viewsOf(buffer);
    return {
        u8,
        i32,
        addr,
        gpa,
        size,
        uva,
        base,
        mapping,
    };
}

export class GuestMemory {
    private last = 0;
    constructor(readonly regions: Region[]) {}

    /**
     * Index of the region holding guest-physical [gpa, gpa+len), or -1.
     * Float arithmetic is exact below 2^53; larger (hostile) values can only
     * land above every region end and fail the check.
     */
    find(gpa: number, len: number): number {
        const rs = this.regions;
        let r = rs[this.last];
        if (r !== undefined && gpa >= r.gpa && len >= 0 && gpa + len <= r.gpa + r.size) return this.last;
        for (let i = 0; i < rs.length; i++) {
            r = rs[i];
            if (gpa >= r.gpa && len >= 0 && gpa + len <= r.gpa + r.size) {
                this.last = i;
                return i;
            }
        }
        return -1;
    }

    /** Same for a frontend user address (ring addresses in SET_VRING_ADDR). */
    findUva(uva: number, len: number): number {
        const rs = this.regions;
        for (let i = 0; i < rs.length; i++) {
            const r = rs[i];
            if (uva >= r.uva && len >= 0 && uva + len <= r.uva + r.size) return i;
        }
        return -1;
    }

    unmapAll(): void {
        for (const r of this.regions) r.mapping?.unmap();
    }
}

/** Memory the switch keeps frames in (TX scratch, backlog, host NIC reads); the block starts at `off` in `mem`. */
export interface FrameBuffer {
    mem: Mem;
    off: number;
    len: number;
}

/**
 * In the guest memory arena when there is room, so frames copied between it
 * and guests take the copyWithin path too; native memory of its own otherwise.
 */
export function frameBuffer(len: number): FrameBuffer {
    const m = guestArena()?.block(len);
    if (m !== undefined) {
        const { u8, i32 } = viewsOf(m.buffer);
        return { mem: { u8, i32, addr: m.addr - m.base }, off: m.base, len };
    }
    const n = allocNative(len);
    return { mem: { u8: n.u8, i32: new Int32Array(n.u8.buffer, n.u8.byteOffset, n.u8.length >>> 2), addr: n.addr }, off: 0, len };
}
