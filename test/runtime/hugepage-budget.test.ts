/**
 * The hugepage budget in status: smaps parsing, the per-user shares from
 * the plan, the table, and destroy's before/after figure.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/core/plan.js';
import type { Status } from '../../src/core/status.js';
import { parseSmapsHugetlb } from '../../src/host/hugepages.js';
import type { HugepageReservation } from '../../src/host/state.js';
import type { RuntimeDeps } from '../../src/runtime/deps.js';
import { releaseHugepagesCounted } from '../../src/runtime/execute.js';
import { formatStatus } from '../../src/runtime/format.js';
import { hugepageBudget } from '../../src/runtime/hugepage-budget.js';

const SMAPS = `7f0000000000-7f0010000000 rw-s 00000000 00:2f 123  /run/vtopo/lab/hugepages/qemu_back_mem.mem0.abc (deleted)
Size:             262144 kB
KernelPageSize:     2048 kB
MMUPageSize:        2048 kB
Rss:                   0 kB
Shared_Hugetlb:    196608 kB
Private_Hugetlb:        0 kB
7f0030000000-7f0030200000 rw-s 00000000 00:01 77  /memfd:seg_0-1 (deleted)
KernelPageSize:     2048 kB
Shared_Hugetlb:     2048 kB
7f0020000000-7f0020001000 rw-p 00000000 00:00 0
Size:                  4 kB
KernelPageSize:        4 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
7f4000000000-7f4040000000 rw-s 00000000 00:30 9  /dev/hugepages1G/x
KernelPageSize:  1048576 kB
Private_Hugetlb: 1048576 kB
`;

function plan(): Plan {
    const vm = (name: string, mb: number) => ({ name, memoryBytes: mb * 2 ** 20, memoryBackend: { kind: 'file', dir: '/hp', pageSizeBytes: 2 ** 21 } });
    return {
        host: { cores: [0, 1], memoryBytes: 0, pollCores: [1], hugepages: { pageSizeBytes: 2 ** 21, count: 512, mountDir: '/hp' } },
        datapaths: { ovs: { mode: 'private', dbSocket: '/x', runDir: '/x', socketMemMb: 128, hugepageDir: '/hp' } },
        vms: [vm('a', 256), vm('b', 256)],
    } as unknown as Plan;
}

describe('hugepages in status', () => {
    it('parseSmapsHugetlb sums shared and private hugetlb per page size, optionally of matching files only', () => {
        expect(parseSmapsHugetlb(SMAPS)).toEqual({ 2048: 196608 + 2048, 1048576: 1048576 });
        expect(parseSmapsHugetlb(SMAPS, ['/hugepages1G/', '/memfd:seg_'])).toEqual({ 2048: 2048, 1048576: 1048576 });
        expect(parseSmapsHugetlb(SMAPS, ['/vtopo-lab-1a2bmap_'])).toEqual({});
    });

    it('each guest and the private OvS against its share from the plan', () => {
        const b = hugepageBudget(plan(), { host: { total: 600, free: 100 }, reserved: 512, usedKb: { a: 196608, b: 600 * 1024, ovs: 64 * 1024 } });
        expect(b).toEqual([{
            page_kb: 2048, host_total: 600, host_free: 100, reserved: 512,
            users: [
                { name: 'a', kind: 'guest', used_pages: 96, share_pages: 128 },
                { name: 'b', kind: 'guest', used_pages: 300, share_pages: 128 },
                { name: 'ovs', kind: 'ovs', used_pages: 32, share_pages: 64 },
            ],
        }]);
        const s: Status = { topology: 'lab', file: '/x', deployed: true, at: 'now', datapaths: [], vms: [], ports: [], hugepages: b };
        const text = formatStatus(s);
        expect(text).toContain('hugepages 2M: host 600 total, 100 free; reserved by vtopo for this topology 512');
        expect(text).toMatch(/b +guest +300 +128 \(OVER\)/);
        expect(text).toMatch(/ovs +ovs +32 +64\n/);
    });

    it('no hugepages declared: no budget', () => {
        const p = plan();
        delete p.host.hugepages;
        expect(hugepageBudget(p, { reserved: 0, usedKb: {} })).toEqual([]);
    });
});

describe('destroy gives back what it took, and prints it', () => {
    const deps = (total: { n: number }, leave = 0) => ({
        hugepages: {
            release: (r: HugepageReservation) => { total.n -= r.added - leave; r.added = 0; },
            observe: () => ({ host: { total: total.n, free: 0 }, usedKb: {} }),
        },
    }) as unknown as RuntimeDeps;

    it('the host count before and after', () => {
        const r: HugepageReservation = { sizeKb: 2048, added: 512, mountDir: '/hp', mounted: true };
        expect(releaseHugepagesCounted(deps({ n: 612 }), r)).toBe('hugepages 2M: host 612 → 100 pages; gave back 512 of the 512 this topology took');
    });

    it('says so when the kernel kept some (still in use)', () => {
        const r: HugepageReservation = { sizeKb: 2048, added: 512, mountDir: '/hp', mounted: true };
        expect(releaseHugepagesCounted(deps({ n: 612 }, 12), r)).toContain('gave back 500 of the 512 this topology took (pages still in use');
    });
});
