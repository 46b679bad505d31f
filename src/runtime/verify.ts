/** Connectivity check: every guest pings every peer address on its L2 segment via the guest agent; then the file's expectations. */
import type { Plan } from '../core/plan.js';
import type { ProgressEvent, VerifyPair, VerifyResult } from '../core/api.js';
import type { RuntimeDeps } from './deps.js';
import { pingTargets } from './segments.js';
import { checkExpectations } from './expectations.js';

export async function verifyPlan(plan: Plan, deps: RuntimeDeps, progress: (e: ProgressEvent) => void): Promise<VerifyResult> {
    const targets = pingTargets(plan);
    const bySource = new Map<string, typeof targets>();
    for (const t of targets) bySource.set(t.from, [...(bySource.get(t.from) ?? []), t]);
    progress({ step: 'verify', phase: 'start', message: `${targets.length} pair(s) on ${bySource.size} guest(s)` });
    // Sources in parallel (each guest pings from its own agent), targets of one source in turn.
    const perSource = await Promise.all([...bySource.entries()].map(async ([from, ts]) => {
        const vm = plan.vms.find((v) => v.name === from)!;
        const out: VerifyPair[] = [];
        for (const t of ts) {
            let pair: VerifyPair;
            try {
                // One echo answers for a healthy pair (the kernel holds it across ARP);
                // only a miss pays for the slower three-echo retry (1 s apart).
                let r = await deps.vms.ping(vm, t.address, { count: 1, timeoutMs: 4000 });
                if (!r.ok) r = await deps.vms.ping(vm, t.address, { count: 3, timeoutMs: 10_000 });
                pair = { from, to: t.to, ok: r.ok, ...(r.rtt_ms !== undefined ? { rtt_ms: r.rtt_ms } : {}), ...(r.error ? { error: r.error } : {}) };
            } catch (err) {
                pair = { from, to: t.to, ok: false, error: err instanceof Error ? err.message : String(err) };
            }
            progress({ step: 'verify', phase: 'info', message: `${from} → ${t.to} (${t.address}): ${pair.ok ? 'ok' : `FAIL ${pair.error ?? ''}`.trim()}` });
            out.push(pair);
        }
        return out;
    }));
    const pairs = perSource.flat();
    progress({ step: 'verify', phase: 'done', message: `${pairs.filter((p) => p.ok).length}/${pairs.length} reach` });
    if (!plan.expectations?.length) return { pairs };
    return { pairs, expectations: await checkExpectations(plan, deps, progress) };
}
