/** Real hugepage reservation (root): sysfs count up, private hugetlbfs mount, and exactly that given back. */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/core/api.js';
import { isMounted, releaseHugepages, reserveHugepages, resizeHugepages, type PageCount } from '../../src/host/hugepages.js';
import type { HugepageReservation } from '../../src/host/state.js';

const NR = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const nr = () => Number(readFileSync(NR, 'utf8'));
const dir = mkdtempSync('/tmp/vthp-');
let r: HugepageReservation | undefined;

afterAll(() => {
    if (r) releaseHugepages(r);
    rmSync(dir, { recursive: true, force: true });
});

describe('hugepages', () => {
    it('reserves 4 x 2M, mounts hugetlbfs 0700, and releases both', () => {
        const mountDir = path.join(dir, 'hp');
        const records: HugepageReservation[] = [];
        r = reserveHugepages({ pageSizeBytes: 2 * 2 ** 20, count: 4, mountDir }, (x) => records.push({ ...x }));
        expect(r.added).toBe(4);
        expect(records.at(-1)).toMatchObject({ added: 4, mounted: true });
        expect(isMounted(mountDir)).toBe(true);
        const mount = readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mountDir)!;
        expect(mount.split(' ')[2]).toBe('hugetlbfs');
        expect(statSync(mountDir).mode & 0o777).toBe(0o700);
        const during = nr();
        releaseHugepages(r);
        expect(isMounted(mountDir)).toBe(false);
        expect(nr()).toBe(during - 4);
        expect(r.added).toBe(0);
        releaseHugepages(r); // twice is harmless
        expect(nr()).toBe(during - 4);
    });

    it('resizes a reservation in place: the count moves, the mount and what is on it stay', () => {
        const mountDir = path.join(dir, 'resize');
        const hp = { pageSizeBytes: 2 * 2 ** 20, count: 2, mountDir };
        const base = nr();
        r = reserveHugepages(hp, () => undefined);
        // A guest's memory file on the mount (created, not mapped: enough to make a remount lose it).
        const file = path.join(mountDir, 'guest-ram');
        closeSync(openSync(file, 'w'));
        const records: HugepageReservation[] = [];
        r = resizeHugepages(r, { ...hp, count: 5 }, (x) => records.push({ ...x }));
        expect(r.added).toBe(5);
        expect(records.at(-1)?.added).toBe(5);
        expect(nr()).toBe(base + 5);
        expect(isMounted(mountDir)).toBe(true);
        expect(statSync(file).isFile()).toBe(true);
        r = resizeHugepages(r, { ...hp, count: 1 }, () => undefined);
        expect(r.added).toBe(1);
        expect(nr()).toBe(base + 1);
        expect(statSync(file).isFile()).toBe(true);
        expect(resizeHugepages(r, { ...hp, count: 1 }, () => { throw new Error('nothing to record'); })).toBe(r);
        releaseHugepages(r);
        expect(nr()).toBe(base);
        expect(isMounted(mountDir)).toBe(false);
    });

    it('keeps the old count, and says why, when the kernel cannot give more', () => {
        // A kernel with 3 pages to spare (asking the real one for more than it has would take every free page for a moment).
        let pages = 10;
        const kernel: PageCount = { name: 'nr_hugepages', read: () => pages, write: (n) => { pages = Math.min(n, 13); } };
        const hp = { pageSizeBytes: 2 * 2 ** 20, count: 8, mountDir: path.join(dir, 'never') };
        const mine: HugepageReservation = { sizeKb: 2048, added: 2, mountDir: hp.mountDir, mounted: true };
        const records: HugepageReservation[] = [];
        let err: unknown;
        try {
            resizeHugepages(mine, hp, (x) => records.push({ ...x }), kernel);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(VtopoError);
        expect((err as VtopoError).message).toBe('the kernel gave only 3 of the 6 more hugepages asked for (memory is short or fragmented); the lab keeps its 2');
        expect((err as VtopoError).fix).toMatch(/declare fewer hugepages/);
        expect(pages).toBe(10);
        expect(records.map((x) => x.added)).toEqual([5, 2]);
    });

    it('names the cause and the fix when the page size does not exist', () => {
        let err: unknown;
        try {
            reserveHugepages({ pageSizeBytes: 4 * 2 ** 20, count: 1, mountDir: path.join(dir, 'x') }, () => undefined);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(VtopoError);
        expect((err as VtopoError).message).toMatch(/no 4M hugepages/);
        expect((err as VtopoError).fix).toMatch(/2M/);
    });
});
