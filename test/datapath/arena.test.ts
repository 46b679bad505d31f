/** Guest memory arena: regions of several fds side by side in one buffer, copies between them by copyWithin. */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { Arena, guestArena } from '../../src/datapath/sys/arena.js';
import { mapShared, memfd, type Mapping } from '../../src/datapath/sys/memory.js';
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { copyBytes } from '../../src/datapath/virtio/frame.js';
import { frameBuffer, regionFromBuffer } from '../../src/datapath/virtio/guest-memory.js';

const MiB = 1 << 20;
const fds: number[] = [];
const maps: Mapping[] = [];

function file(len: number): number {
    const fd = memfd('arena-test', len);
    fds.push(fd);
    return fd;
}
function keep<T extends Mapping | undefined>(m: T): T {
    if (m) maps.push(m);
    return m;
}

afterEach(() => {
    for (const m of maps.splice(0)) m.unmap();
    for (const fd of fds.splice(0)) closeFd(fd);
});

describe('guest memory arena', () => {
    it('maps each fd at its own offset of one buffer, a page apart, backed by the fd itself', () => {
        const arena = Arena.reserve(64 * MiB);
        const a = keep(arena.map(file(1 * MiB), 1 * MiB, 0))!;
        const bFd = file(8 * MiB);
        const b = keep(arena.map(bFd, 3 * MiB, 4096))!;
        expect(a.buffer).toBe(arena.buffer);
        expect(b.buffer).toBe(arena.buffer);
        expect(a.base).toBe(0);
        expect(b.base).toBe(1 * MiB);
        expect(b.addr).toBe(arena.addr + b.base);
        expect(arena.used).toBe(4 * MiB);
        // The switch's own frame buffers, rounded up to pages.
        const s1 = keep(arena.block(5000))!;
        const s2 = keep(arena.block(100))!;
        expect([s1.base, s2.base]).toEqual([4 * MiB, 4 * MiB + 8192]);
        expect(arena.frameBufferBytes).toBe(8192 + 4096);
        s1.unmap();
        s1.unmap();
        expect(arena.frameBufferBytes).toBe(4096);

        // Written through the arena, read through a separate mapping of the same file at the same offset.
        const u8 = new Uint8Array(arena.buffer);
        u8[b.base] = 0xa5;
        u8[b.base + 3 * MiB - 1] = 0x5a;
        const alone = keep(mapShared(bFd, 3 * MiB, 4096));
        const v = new Uint8Array(alone.buffer);
        expect(v[0]).toBe(0xa5);
        expect(v[3 * MiB - 1]).toBe(0x5a);
    });

    it('holds two 1 GiB guests (QEMU shares each as one region), and then nothing else', () => {
        const arena = Arena.reserve(); // the real size
        const a = keep(arena.map(file(1 << 30), 1 << 30, 0)); // sparse files
        const b = keep(arena.map(file(1 << 30), 1 << 30, 0));
        expect(a?.base).toBe(0);
        expect(b?.base).toBe(1 << 30);
        expect(arena.used).toBe(arena.size);
        // The switch's frame buffers come after the guests and go elsewhere.
        expect(arena.block(65536 + 64)).toBeUndefined();
    });

    it('refuses what does not fit or what the file cannot back, and reuses freed slots (merged)', () => {
        const arena = Arena.reserve(8 * MiB);
        const x = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const y = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const z = keep(arena.map(file(4 * MiB), 4 * MiB, 0))!;
        expect([x.base, y.base, z.base]).toEqual([0, 2 * MiB, 4 * MiB]);
        expect(arena.map(file(MiB), MiB, 0)).toBeUndefined();
        expect(arena.map(file(MiB), 2 * MiB, 0)).toBeUndefined(); // longer than the file
        y.unmap();
        x.unmap();
        y.unmap(); // twice is harmless
        expect(arena.used).toBe(4 * MiB);
        // Only a merged 4 MiB hole at 0 holds this.
        const w = keep(arena.map(file(4 * MiB), 4 * MiB, 0))!;
        expect(w.base).toBe(0);
        // A freed slot is reserved again, not handed to the kernel: reading it would fault, so only check the books.
        z.unmap();
        expect(arena.used).toBe(4 * MiB);
    });

    it('copies frames exactly, at any alignment and on every copy path, touching nothing around them', () => {
        const arena = Arena.reserve(16 * MiB);
        const a = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const b = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const alone = keep(mapShared(file(2 * MiB), 2 * MiB, 0));
        const ra = regionFromBuffer(a.buffer, a.addr - a.base, 0x100000, 2 * MiB, 0, a.base, a);
        const rb = regionFromBuffer(b.buffer, b.addr - b.base, 0x100000, 2 * MiB, 0, b.base, b);
        const rs = regionFromBuffer(alone.buffer, alone.addr, 0x100000, 2 * MiB, 0, 0, alone);
        expect(ra.u8).toBe(rb.u8); // one view pair per buffer: copyBytes sees one buffer
        expect(rs.u8).not.toBe(ra.u8);
        // Sizes either side of each threshold (word loop up to 160 in one buffer, 256 between
        // buffers; byte loop under 64 unaligned), with word and byte tails, aligned and not.
        const cases = [
            [1518, 0, 12], [1518, 3, 10], [9000, 64, 0], [300, 1, 2],
            [64, 0, 12], [68, 0, 4], [75, 4, 0], [160, 0, 12], [161, 0, 12], [164, 8, 4],
            [256, 0, 12], [257, 0, 12], [260, 4, 4], [63, 1, 2], [64, 1, 2], [84, 2, 0], [13, 0, 0],
        ];
        for (const [from, to] of [[ra, rb], [ra, rs], [rs, rb]]) {
            for (const [n, so, dof] of cases) {
                const src = from.base + 4096 + so;
                const dst = to.base + 8192 + dof;
                for (let k = 0; k < n; k++) from.u8[src + k] = (k * 7 + n) & 0xff;
                to.u8[dst - 1] = 0xee;
                to.u8[dst + n] = 0xee;
                copyBytes(from, src, to, dst, n);
                for (let k = 0; k < n; k++) if (to.u8[dst + k] !== ((k * 7 + n) & 0xff)) throw new Error(`byte ${k} of ${n} (${so}→${dof})`);
                expect(to.u8[dst - 1]).toBe(0xee);
                expect(to.u8[dst + n]).toBe(0xee);
            }
        }
    });

    it('copies a 1518-byte frame between guests in the arena without allocating, unlike between separate buffers', async () => {
        // Counted as young-generation collections while copying: each view made
        // per copy is garbage, so 500k copies through views must collect.
        const arena = Arena.reserve(16 * MiB);
        const a = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const b = keep(arena.map(file(2 * MiB), 2 * MiB, 0))!;
        const ra = regionFromBuffer(a.buffer, a.addr - a.base, 0, 2 * MiB, 0, a.base, a);
        const rb = regionFromBuffer(b.buffer, b.addr - b.base, 0, 2 * MiB, 0, b.base, b);
        const alone = keep(mapShared(file(2 * MiB), 2 * MiB, 0));
        const rs = regionFromBuffer(alone.buffer, alone.addr, 0, 2 * MiB, 0, 0, alone);
        const gcs: number[] = [];
        const obs = new PerformanceObserver((l) => gcs.push(...l.getEntries().map((e) => e.startTime)));
        obs.observe({ entryTypes: ['gc'] });
        const collections = async (dst: typeof rb) => {
            const copy = (i: number) => copyBytes(ra, ra.base + ((i * 2048) & 0xfffff), dst, dst.base + 0x100000 + ((i * 2048) & 0xfffff), 1518);
            for (let i = 0; i < 2000; i++) copy(i);
            const t0 = performance.now();
            for (let i = 0; i < 500_000; i++) copy(i);
            const t1 = performance.now();
            await new Promise((r) => setTimeout(r, 100));
            return gcs.filter((t) => t >= t0 && t <= t1).length;
        };
        try {
            expect(await collections(rb)).toBeLessThanOrEqual(1);
            expect(await collections(rs)).toBeGreaterThanOrEqual(3);
        } finally {
            obs.disconnect();
        }
    });

    it('maps the same file range once for every device that shares it, until the last one lets go', () => {
        const arena = Arena.reserve(16 * MiB);
        const fd = file(4 * MiB);
        const p0 = keep(arena.map(fd, 2 * MiB, 0))!;
        const p1 = keep(arena.map(fd, 2 * MiB, 0))!;
        const other = keep(arena.map(fd, 2 * MiB, 2 * MiB))!; // another range of the same file
        expect(p1.base).toBe(p0.base);
        expect(other.base).not.toBe(p0.base);
        expect(arena.mappings).toBe(2);
        expect(arena.used).toBe(4 * MiB);
        const u8 = new Uint8Array(arena.buffer);
        p0.unmap();
        u8[p1.base + 7] = 42; // still mapped: a fault here would kill the test process
        expect(u8[p1.base + 7]).toBe(42);
        p0.unmap(); // a second unmap of the same handle must not drop p1's reference
        expect(arena.mappings).toBe(2);
        p1.unmap();
        expect(arena.mappings).toBe(1);
        expect(arena.used).toBe(2 * MiB);
    });

    it('is reserved once per process, and frame buffers share its views with guest regions', () => {
        const g = guestArena();
        expect(g).not.toBeNull();
        expect(guestArena()).toBe(g);
        const fb = frameBuffer(65536);
        const m = keep(g!.map(file(2 * MiB), 2 * MiB, 0))!;
        const r = regionFromBuffer(m.buffer, m.addr - m.base, 0, 2 * MiB, 0, m.base, m);
        expect(fb.mem.u8).toBe(r.u8);
        expect(fb.mem.addr).toBe(g!.addr);
        expect(fb.off).toBeGreaterThanOrEqual(0);
        expect(fb.len).toBe(65536);
    });
});
