/**
 * `vtopo impair`: a port's or link's impairment changed live in the running
 * datapath (nothing restarts). It is recorded as the deployed setting, so
 * status and a fresh process see it, and it lasts until the next deploy,
 * which finds the file's setting differing and applies it back (plan shows
 * that as `~ set-impair`).
 */
import * as path from 'node:path';
import { formatImpairment, impairmentProblem } from '../core/impair.js';
import { IMPAIRMENT_KEYS, type DatapathKind, type ImpairmentPlan, type Plan } from '../core/plan.js';
import { VtopoError, type ImpairResult } from '../core/api.js';
import type { ImpairTarget } from '../backends/types.js';
import { acquireLock, readState, writeState } from '../host/state.js';
import type { RuntimeDeps } from './deps.js';
import { runDirFor } from './load.js';

export type { ImpairResult };

/** A VM port (`vm.port`) or a link (`a--b`, or `a b` in either order) of the deployed plan. */
export function resolveImpairTarget(plan: Plan, name: string): { target: ImpairTarget; datapath: DatapathKind; label: string } {
    const port = plan.vms.flatMap((v) => v.ports).find((p) => p.id === name);
    if (port) return { target: { port: port.id }, datapath: port.datapath, label: `port ${port.id}` };
    const pair = name.replace(/^link:/, '').split(/--|\s+/).filter(Boolean).sort();
    const link = plan.links.find((l) => pair.length === 2 && l.a === pair[0] && l.b === pair[1]);
    if (link) {
        const dp = plan.bridges.find((b) => b.name === link.a)?.datapath ?? 'embedded';
        return { target: { link: link.id }, datapath: dp, label: `link ${link.id}` };
    }
    const names = [...plan.vms.flatMap((v) => v.ports.map((p) => p.id)), ...plan.links.map((l) => l.id)];
    throw new VtopoError(`no port or link '${name}' in the deployed topology ${plan.topology}`, `name one of: ${names.join(', ') || '(none)'}`, 'no-such-port');
}

/** Checks it as the checker would, for the datapath that runs it. */
export function checkLiveImpairment(impair: ImpairmentPlan, datapath: DatapathKind, label: string): void {
    const problem = impairmentProblem(impair);
    if (problem && !(problem.key === 'jitterUs' && impair.delayUs)) throw new VtopoError(`${label}: ${problem.message}`, 'add --delay D', 'impair-needs-delay');
    if (datapath !== 'ovs') return;
    if (label.startsWith('link') && IMPAIRMENT_KEYS.some((k) => impair[k])) {
        throw new VtopoError(`${label}: impairment on a link needs datapath embedded`, 'impair the VM ports instead (OvS does --rate only)', 'impair-needs-embedded');
    }
    const other = IMPAIRMENT_KEYS.filter((k) => k !== 'rateBps' && impair[k]).map((k) => k.replace(/(Us|Pct)$/, ''));
    if (other.length) throw new VtopoError(`${label}: ${other.join(', ')} needs datapath embedded (OvS-DPDK only polices a rate)`, 'keep only --rate on ovs bridges', 'impair-needs-embedded');
}

export async function impairLive(file: string, name: string, impair: ImpairmentPlan, deps: RuntimeDeps, through?: (p: Plan) => Plan): Promise<ImpairResult> {
    const { topology, runDir } = await runDirFor(file, deps.hostFacts(path.resolve(file)).runRoot);
    const state = readState(runDir);
    const deployed = state?.deployed;
    if (!deployed) throw new VtopoError(`topology ${topology} is not deployed`, `run \`vtopo deploy ${file}\` first`, 'not-deployed');
    const { target, datapath, label } = resolveImpairTarget(deployed, name);
    checkLiveImpairment(impair, datapath, label);
    // Refused while a deploy or destroy runs: it would overwrite the record.
    const lock = acquireLock(runDir, topology, 'impair');
    try {
        const plan = through ? through(deployed) : deployed;
        await (await deps.backend(datapath)).setImpair(plan, target, impair);
        const next = structuredClone(deployed);
        const on = IMPAIRMENT_KEYS.some((k) => impair[k]);
        const holder = 'port' in target ? next.vms.flatMap((v) => v.ports).find((p) => p.id === target.port)! : next.links.find((l) => l.id === target.link)!;
        if (on) holder.impair = { ...impair };
        else delete holder.impair;
        const fresh = readState(runDir);
        writeState(runDir, { ...(fresh ?? {}), deployed: next });
    } finally {
        lock.release();
    }
    return { target: label, datapath, impair, text: `${label}: ${formatImpairment(impair)}` };
}
