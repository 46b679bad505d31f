/**
 * The hugepage budget of a topology (status): the host's count, what vtopo
 * reserved, and what each guest and the private OvS map against the share
 * the plan gave them. PURE: the host's numbers come in as arguments.
 */
import type { Plan } from '../core/plan.js';
import type { HugepageBudget } from '../core/status.js';

export interface HugepageObservation {
    host?: { total: number; free: number };
    /** Pages vtopo added for this topology (the state's reservation). */
    reserved: number;
    /** kB of hugetlb memory of this size mapped now, by user: vm name, or 'ovs'. */
    usedKb: Record<string, number>;
}

export function hugepageBudget(plan: Plan, o: HugepageObservation): HugepageBudget[] {
    const hp = plan.host.hugepages;
    if (!hp) return [];
    const pageKb = hp.pageSizeBytes / 1024;
    const pages = (bytes: number) => Math.ceil(bytes / hp.pageSizeBytes);
    const users: HugepageBudget['users'] = plan.vms
        .filter((v) => v.memoryBackend.kind === 'file')
        .map((v) => ({ name: v.name, kind: 'guest' as const, used_pages: Math.ceil((o.usedKb[v.name] ?? 0) / pageKb), share_pages: pages(v.memoryBytes) }));
    const ovs = plan.datapaths.ovs;
    if (ovs?.mode === 'private' && ovs.hugepageDir) {
        users.push({ name: 'ovs', kind: 'ovs', used_pages: Math.ceil((o.usedKb.ovs ?? 0) / pageKb), share_pages: pages((ovs.socketMemMb ?? 128) * 2 ** 20) });
    }
    return [{ page_kb: pageKb, host_total: o.host?.total ?? 0, host_free: o.host?.free ?? 0, reserved: o.reserved, users }];
}
