/**
 * The file's `expect` lines, measured from inside the guests through their
 * agents: reaches (an answered ping), isolated (no answer either way), rtt
 * (median of 10 echoes below the limit), throughput (iperf3 TCP above it).
 */
import { formatDuration, formatRate } from '../core/impair.js';
import type { ExpectationResult, ProgressEvent } from '../core/api.js';
import type { ExpectationPlan, Plan, VmPlan } from '../core/plan.js';
import type { RuntimeDeps } from './deps.js';

const RTT_ECHOES = 10;
const IPERF_SECONDS = 5;

export function expectationText(e: ExpectationPlan): string {
    if (e.kind === 'rtt') return `expect rtt ${e.from} ${e.to} < ${formatDuration(Math.round((e.limit ?? 0) * 1000))}`;
    if (e.kind === 'throughput') return `expect throughput ${e.from} ${e.to} > ${formatRate(e.limit ?? 0)}`;
    return `expect ${e.from} ${e.kind} ${e.to}`;
}

const addressOf = (vm: VmPlan | undefined) => vm?.ports.find((p) => p.ip)?.ip?.split('/')[0];

export async function checkExpectations(plan: Plan, deps: RuntimeDeps, progress: (e: ProgressEvent) => void): Promise<ExpectationResult[]> {
    const out: ExpectationResult[] = [];
    for (const e of plan.expectations ?? []) {
        const r = await measure(plan, e, deps);
        progress({ step: 'verify', phase: 'info', message: `line ${e.line}: ${r.text}: ${r.measured} ${r.ok ? 'ok' : 'FAIL'}` });
        out.push(r);
    }
    return out;
}

async function measure(plan: Plan, e: ExpectationPlan, deps: RuntimeDeps): Promise<ExpectationResult> {
    const base = { line: e.line, kind: e.kind, from: e.from, to: e.to, text: expectationText(e) };
    const from = plan.vms.find((v) => v.name === e.from);
    const to = plan.vms.find((v) => v.name === e.to);
    const fail = (error: string): ExpectationResult => ({ ...base, ok: false, measured: 'not measured', error });
    if (!from || !to) return fail(`vm ${!from ? e.from : e.to} is not deployed`);
    const target = addressOf(to);
    if (!target) return fail(`vm ${e.to} has no address`);
    try {
        switch (e.kind) {
            case 'reaches': {
                let r = await deps.vms.ping(from, target, { count: 1, timeoutMs: 4000 });
                if (!r.ok) r = await deps.vms.ping(from, target, { count: 3, timeoutMs: 10_000 });
                return { ...base, ok: r.ok, measured: r.ok ? `replied${r.rtt_ms !== undefined ? ` in ${r.rtt_ms.toFixed(1)}ms` : ''}` : 'no reply', ...(r.ok || !r.error ? {} : { error: r.error }) };
            }
            case 'isolated': {
                const back = addressOf(from);
                const ab = await deps.vms.ping(from, target, { count: 3, timeoutMs: 6000 });
                const ba = back ? await deps.vms.ping(to, back, { count: 3, timeoutMs: 6000 }) : { ok: false };
                const measured = ab.ok && ba.ok ? 'both reach' : ab.ok ? `${e.from} reaches ${e.to}` : ba.ok ? `${e.to} reaches ${e.from}` : 'no reply either way';
                return { ...base, ok: !ab.ok && !ba.ok, measured };
            }
            case 'rtt': {
                if (!deps.vms.pingStats) return fail('this runtime cannot measure round trips');
                const r = await deps.vms.pingStats(from, target, { count: RTT_ECHOES, intervalS: 0.2, deadlineS: 10 });
                if (!r.ok || r.median_ms === null || r.median_ms === undefined) return { ...base, ok: false, measured: 'no reply', ...(r.error ? { error: r.error } : {}) };
                return { ...base, ok: r.median_ms < (e.limit ?? 0), measured: `${r.median_ms.toFixed(1)}ms median of ${r.received}/${r.sent}` };
            }
            case 'throughput': {
                if (!deps.vms.iperf3) return fail('this runtime cannot measure throughput');
                const r = await deps.vms.iperf3(from, target, { seconds: IPERF_SECONDS });
                if (!r.ok || r.mbps === undefined) return { ...base, ok: false, measured: 'no result', ...(r.error ? { error: r.error } : {}) };
                return { ...base, ok: r.mbps * 1e6 > (e.limit ?? 0), measured: `${+r.mbps.toFixed(1)}mbit` };
            }
        }
    } catch (err) {
        return fail(err instanceof Error ? err.message : String(err));
    }
}
