/**
 * Connectivity check: every guest pings every peer address on its L2
 * segment via the guest agent, then the file's expectations. Peers on
 * another VLAN must not answer: their silence is the expected result, an
 * answer the failure.
 */
import type { Plan } from '../core/plan.js';
import type { ProgressEvent, VerifyPair, VerifyResult } from '../core/api.js';
import type { RuntimeDeps } from './deps.js';
import { pingTargets, type PingTarget } from './segments.js';
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
            if (t.expect === 'isolated') {
                pair = await isolated(vm, from, t);
                progress({ step: 'verify', phase: 'info', message: `${from} → ${t.to} (${t.address}): ${pair.ok ? `isolated as expected (${t.why})` : `FAIL ${pair.error}`}` });
                out.push(pair);
                continue;
            }
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
    const iso = pairs.filter((p) => p.expect === 'isolated');
    const reach = pairs.filter((p) => !p.expect);
    progress({ step: 'verify', phase: 'done', message: `${reach.filter((p) => p.ok).length}/${reach.length} reach${iso.length ? `, ${iso.filter((p) => p.ok).length}/${iso.length} isolated across VLANs` : ''}` });
    if (!plan.expectations?.length) return { pairs };
    return { pairs, expectations: await checkExpectations(plan, deps, progress) };

    /** Two echoes, 3 s: what a reachable peer answers well within (verify's first try is one echo in 4 s). */
    async function isolated(vm: Plan['vms'][number], from: string, t: PingTarget): Promise<VerifyPair> {
        try {
            const r = await deps.vms.ping(vm, t.address, { count: 2, timeoutMs: 3000 });
            return r.ok
                ? { from, to: t.to, ok: false, expect: 'isolated', error: `answered across VLANs (${t.why}): the VLANs leak` }
                : { from, to: t.to, ok: true, expect: 'isolated' };
        } catch (err) {
            return { from, to: t.to, ok: false, expect: 'isolated', error: err instanceof Error ? err.message : String(err) };
        }
    }
}
