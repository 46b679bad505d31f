/** File → checked topology → Plan, with errors a user can act on. */
import * as path from 'node:path';
import type { Topology } from '../language/generated/ast.js';
import { formatDiagnostic, loadTopology, TopologyLoadError } from '../language/load.js';
import { compilePlan, topologyOf } from '../plan/compile.js';
import { runDirOf } from '../plan/paths.js';
import type { HostFacts, Plan } from '../core/plan.js';
import { VtopoError } from '../core/api.js';

async function load(file: string) {
    try {
        return await loadTopology(file);
    } catch (err) {
        if (err instanceof TopologyLoadError) throw new VtopoError(err.message, 'give the path of an existing .vtopo file', 'file-unreadable');
        throw err;
    }
}

/** A topology without errors (warnings are fine): deploy, plan and export need a sound file. */
export async function loadChecked(file: string): Promise<Topology> {
    const r = await load(file);
    if (r.hasErrors) {
        const errors = r.diagnostics.filter((d) => d.severity === 'error');
        const shown = errors.slice(0, 5).map((d) => `  ${formatDiagnostic(d)}`).join('\n');
        throw new VtopoError(
            `${file} has ${errors.length} error(s); nothing was changed:\n${shown}${errors.length > 5 ? '\n  …' : ''}`,
            `fix them (\`vtopo check ${file}\` lists every diagnostic) and run again`,
            'check-failed',
        );
    }
    return topologyOf(r.model, file);
}

export async function planFor(file: string, facts: (f: string) => HostFacts): Promise<Plan> {
    const topology = await loadChecked(file);
    return compilePlan(topology, facts(path.resolve(file)));
}

/**
 * The run directory of a file's topology, even when the file has errors now:
 * status and destroy must work on whatever was deployed from it.
 */
export async function runDirFor(file: string, runRoot: string, host?: string): Promise<{ topology: string; runDir: string }> {
    const r = await load(file);
    const names = (r.model?.topologies ?? []).map((t) => t.name).filter((n): n is string => !!n);
    if (names.length === 0) {
        throw new VtopoError(`${file} names no topology, so vtopo cannot tell what was deployed from it`,
            'restore the `topology NAME {` line the file was deployed with', 'no-topology');
    }
    if (names.length > 1) topologyOf(r.model, file); // throws the one-topology-per-file error
    return { topology: names[0], runDir: runDirOf(path.resolve(runRoot), names[0], host) };
}
