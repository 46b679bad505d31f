/** Real hugepage reservation (root): sysfs count up, private hugetlbfs mount, and exactly that given back. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/runtime/api.js';
import { isMounted, releaseHugepages, reserveHugepages } from '../../src/runtime/hugepages.js';
import type { HugepageReservation } from '../../src/runtime/state.js';

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
