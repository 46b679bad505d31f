/**
 * The runtime: plan, deploy, destroy, status, verify, watch over injectable
 * dependencies (deps.ts). index.ts binds it to the real backends.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ovsdbSocket } from '../plan/compile.js';
import type { DatapathKind, HostFacts, ImpairmentPlan, Plan, VmPlan } from '../core/plan.js';
import type { DeployResult, PlanResult, ProgressEvent, RuntimeOptions, VerifyResult, VtopoRuntime } from '../core/api.js';
import { VtopoError } from '../core/api.js';
import { formatActions, toPlanned } from './actions.js';
import type { RuntimeDeps } from './deps.js';
import { execute, releaseHugepagesCounted, waitForGuests } from './execute.js';
import { planFor, runDirFor } from './load.js';
import { liveEvents, type LiveEvents } from './live-events.js';
import { collectStatus, watchStatus } from './monitor.js';
import { preflight } from '../host/preflight.js';
import { partsInDoubt, reconcile, type LiveView } from './reconcile.js';
import { acquireLock, ensureRunDir, readState, readStateLenient, writeState, type DeployState } from '../host/state.js';
import type { Status } from '../core/status.js';
import { verifyPlan } from './verify.js';
import { hugepageBudget } from './hugepage-budget.js';
import { annotateStatus, labOps } from './lab.js';
import { impairLive } from './impair.js';

const KINDS: DatapathKind[] = ['embedded', 'ovs'];

async function observe(desired: Plan, deployed: Plan | undefined, deps: RuntimeDeps): Promise<LiveView> {
    const live: LiveView = { datapaths: {}, vms: {} };
    for (const kind of KINDS) {
        const plan = deployed?.datapaths[kind] ? deployed : desired.datapaths[kind] ? desired : undefined;
        if (!plan) continue;
        try {
            const backend = await deps.backend(kind);
            const running = await backend.running(plan);
            live.datapaths[kind] = { running, ...(running ? { inventory: await backend.inventory(plan) } : {}) };
        } catch {
            live.datapaths[kind] = { running: false };
        }
    }
    const vms = new Map<string, VmPlan>([...(deployed?.vms ?? []), ...desired.vms].map((v) => [v.name, v]));
    await Promise.all([...vms.values()].map(async (vm) => {
        try {
            live.vms[vm.name] = (await deps.vms.status(vm)).state;
        } catch {
            live.vms[vm.name] = 'absent';
        }
    }));
    return live;
}

/**
 * What a deploy reconciles against. After one that stopped part-way, its
 * recorded guests are what runs (not the deployed plan's), and the parts it
 * was changing may run with either plan's settings.
 */
function baseline(state: DeployState | undefined): { deployed: Plan | undefined; doubt: Set<string> } {
    const last = state?.deployed ?? state?.pending;
    const deployed = state?.guests && last ? { ...last, vms: state.guests } : state?.deployed;
    return { deployed, doubt: partsInDoubt(state?.deployed, state?.pending) };
}

/**
 * Stops everything the state names (pending and deployed plans, the guests
 * a stopped deploy recorded), gives back hugepages and removes the run
 * directory. Keeps going past failures so as much as possible is gone;
 * throws at the end if anything could not be removed, keeping the state so
 * a later destroy can retry.
 */
async function teardown(runDir: string, state: DeployState | undefined, deps: RuntimeDeps, progress: (e: ProgressEvent) => void): Promise<void> {
    const plans = [state?.pending, state?.deployed].filter((p): p is Plan => !!p);
    const failures: string[] = [];
    const seen = new Set<string>();
    const vms = [...(state?.guests ?? []), ...plans.flatMap((p) => p.vms)].filter((v) => {
        const key = `${v.name}:${v.pidFile}:${v.qmpSocket}`;
        return seen.has(key) ? false : (seen.add(key), true);
    });
    if (vms.length) progress({ step: 'vm', phase: 'start', message: `stopping ${[...new Set(vms.map((v) => v.name))].join(', ')}` });
    await Promise.all(vms.map(async (vm) => {
        try {
            await deps.vms.stop(vm);
        } catch (err) {
            failures.push(`vm ${vm.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
    }));
    if (vms.length) progress({ step: 'vm', phase: 'done', message: 'guests stopped' });
    for (const kind of KINDS) {
        const plan = plans.find((p) => p.datapaths[kind]);
        if (!plan) continue;
        progress({ step: 'datapath', phase: 'start', message: `stopping the ${kind} datapath` });
        try {
            await (await deps.backend(kind)).stop(plan);
            progress({ step: 'datapath', phase: 'done', message: `${kind} datapath stopped` });
        } catch (err) {
            failures.push(`${kind} datapath: ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    // Kept while a guest or a datapath may still have its memory on them; the
    // next destroy gives them back (the state still records them: giving them
    // back now and failing would make it give them back twice).
    if (state?.hugepages && failures.length) {
        failures.push(`hugepages: ${state.hugepages.added} kept until the above have stopped`);
    } else if (state?.hugepages) {
        progress({ step: 'hugepages', phase: 'start', message: `giving back ${state.hugepages.added} hugepages` });
        try {
            progress({ step: 'hugepages', phase: 'done', message: releaseHugepagesCounted(deps, state.hugepages) });
        } catch (err) {
            failures.push(`hugepages: ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    if (failures.length) {
        throw new VtopoError(`destroy could not remove everything:\n  ${failures.join('\n  ')}`,
            `fix the cause above and run \`vtopo destroy\` again (the state in ${runDir}/state is kept)`, 'destroy-incomplete');
    }
    rmSync(runDir, { recursive: true, force: true });
}

/**
 * A rolled-back first deploy removes its run directory, but the logs its
 * error points at must survive: they move to <tmp>/vtopo-failed-<topology>/
 * and the error's fix names the new place.
 */
function keepLogs(err: unknown, runDir: string, topology: string): unknown {
    if (!(err instanceof VtopoError) || !existsSync(runDir)) return err;
    const keep = path.join(os.tmpdir(), `vtopo-failed-${topology}`);
    const logs: string[] = [];
    const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full);
            else if (e.isFile() && e.name.endsWith('.log')) logs.push(full);
        }
    };
    try {
        walk(runDir);
        if (logs.length === 0) return err;
        rmSync(keep, { recursive: true, force: true });
        for (const f of logs) {
            const dest = path.join(keep, path.relative(runDir, f));
            mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
            copyFileSync(f, dest);
        }
    } catch {
        return err;
    }
    const moved = (text: string) => text.split(runDir).join(keep);
    return new VtopoError(err.message, err.fix ? `${moved(err.fix)} (logs kept after the rollback)` : undefined, err.code);
}

/**
 * A deployed plan as seen through `--ovsdb`: a deployment on an existing
 * OvS is reached at the socket given now (it may have moved); one on the
 * topology's private OvS has no other database to go to.
 */
function throughOvsdb(plan: Plan | undefined, ovsdb: string | undefined): Plan | undefined {
    const ovs = plan?.datapaths.ovs;
    if (!plan || !ovs || ovsdb === undefined) return plan;
    const socket = ovsdbSocket(ovsdb, '--ovsdb');
    if (ovs.mode === 'private' || ovs.mode === 'fabric') {
        const own = ovs.mode === 'private' ? 'its own private OvS' : 'the OvS of each host of its fabric';
        throw new VtopoError(`topology ${plan.topology} was deployed on ${own}, not on the OvS at ${socket}`,
            'drop --ovsdb: vtopo finds the private OvS from the deployment', 'ovsdb-mismatch');
    }
    return { ...plan, datapaths: { ...plan.datapaths, ovs: { ...ovs, dbSocket: socket } } };
}

/**
 * What a deploy keeps of the lab records: ports taken down stay down (QEMU
 * and the datapath keep them so) while they are in the plan. A guest the
 * user stopped is started by the deploy, so that record goes.
 */
function kept(state: DeployState | undefined, desired?: Plan): Pick<DeployState, 'linksDown'> {
    const ids = desired && new Set([...desired.vms.flatMap((v) => v.ports.map((p) => p.id)), ...desired.nics.map((n) => n.name), ...desired.links.map((l) => l.id)]);
    const down = (state?.linksDown ?? []).filter((id) => !ids || ids.has(id));
    return down.length ? { linksDown: down } : {};
}

/** A refused or rolled-back first deploy leaves no run directory behind (nothing in it was ever deployed). */
function dropUndeployedRunDir(runDir: string): void {
    if (!existsSync(path.join(runDir, 'state', 'state.json'))) rmSync(runDir, { recursive: true, force: true });
}

/**
 * The parts other machines run (a fabric's ssh hosts), after ours is up:
 * each host's outcome is reported, none undoes ours (issue 20: an
 * unreachable host fails its own part and leaves the others as they are).
 */
async function deployHosts(plan: Plan, deps: RuntimeDeps, progress: (e: ProgressEvent) => void): Promise<Pick<DeployResult, 'hosts'>> {
    const out: NonNullable<DeployResult['hosts']> = [];
    for (const kind of KINDS) {
        if (!plan.datapaths[kind]) continue;
        const be = await deps.backend(kind);
        if (!be.deployHosts) continue;
        out.push(...await be.deployHosts(plan, (message) => progress({ step: 'host', phase: 'info', message })));
    }
    return out.length ? { hosts: out } : {};
}

export function createRuntime(deps: RuntimeDeps): VtopoRuntime & {
    exportPlan(file: string): Promise<Plan>;
    deployedPlan(file: string): Promise<{ topology: string; plan?: Plan }>;
} {
    const noop = () => undefined;
    /** HostFacts with the command line's `--ovsdb` on top. */
    const factsWith = (opts: RuntimeOptions) => (f: string): HostFacts => ({
        ...deps.hostFacts(f),
        ...(opts.ovsdb === undefined ? {} : { ovsdb: opts.ovsdb }),
        ...(opts.host === undefined ? {} : { scopeHost: opts.host }),
    });
    const runDirOfFile = (file: string, opts: RuntimeOptions) => runDirFor(file, deps.hostFacts(path.resolve(file)).runRoot, opts.host);

    async function plan(file: string, opts: RuntimeOptions = {}): Promise<PlanResult> {
        const desired = await planFor(file, factsWith(opts));
        const state = readStateLenient(desired.runDir);
        const { deployed, doubt } = baseline(state);
        const actions = reconcile(desired, deployed, await observe(desired, deployed, deps), doubt);
        const notes = desired.notes;
        const warnings = desired.warnings ?? [];
        const section = (title: string, lines: string[]) => (lines.length ? `\n${title}:\n${lines.map((n) => `  - ${n}`).join('\n')}\n` : '');
        const text = `topology ${desired.topology} (${desired.runDir})\n` + formatActions(actions) + section('warnings', warnings) + section('notes', notes);
        return { text, actions: actions.map(toPlanned), notes, warnings };
    }

    async function deploy(file: string, opts: RuntimeOptions = {}): Promise<DeployResult> {
        const progress = opts.onProgress ?? noop;
        progress({ step: 'check', phase: 'start', message: `checking ${file}` });
        const desired = await planFor(file, factsWith(opts));
        progress({ step: 'check', phase: 'done', message: `topology ${desired.topology}: ${desired.vms.length} vm(s), ${desired.bridges.length} bridge(s)` });
        for (const n of desired.notes) progress({ step: 'check', phase: 'info', message: n });
        for (const w of desired.warnings ?? []) progress({ step: 'check', phase: 'info', message: `warning: ${w}` });
        ensureRunDir(desired.runDir);
        let lock;
        try {
            lock = acquireLock(desired.runDir, desired.topology, 'deploy');
        } catch (err) {
            // A busy lock belongs to another deploy: its run directory is not ours to remove.
            if (!(err instanceof VtopoError && err.code === 'busy')) dropUndeployedRunDir(desired.runDir);
            throw err;
        }
        try {
            const state = readState(desired.runDir);
            const { deployed, doubt } = baseline(state);
            const live = await observe(desired, deployed, deps);
            const actions = reconcile(desired, deployed, live, doubt);
            // Left booting by a deploy that failed before they were up: this one is done only when they are.
            const booting = desired.vms.filter((v) => live.vms[v.name] === 'booting');
            if (actions.length === 0) {
                await waitForGuests(booting, { desired, deps, progress });
                // Nothing to do: what runs is the file's plan (a deploy that stopped part-way may have finished it).
                if (state?.pending || state?.guests) writeState(desired.runDir, { deployed: desired, hugepages: state.hugepages, ...kept(state) });
                const hosts = await deployHosts(desired, deps, progress);
                return { applied: [], status: await collectStatus(file, desired.topology, desired, deps), ...hosts };
            }
            await preflight(desired, actions, deps);
            let hugepages = state?.hugepages;
            const guests = new Map((deployed?.vms ?? []).map((v) => [v.name, v]));
            const persist = () => writeState(desired.runDir, { deployed: state?.deployed, pending: desired, hugepages, guests: [...guests.values()], ...kept(state) });
            persist();
            const save = (hp: typeof hugepages) => {
                hugepages = hp;
                persist();
            };
            const onGuest = (vm: VmPlan, running: boolean) => {
                if (running) guests.set(vm.name, vm);
                else guests.delete(vm.name);
                persist();
            };
            let applied;
            try {
                const starting = actions.flatMap((a) => (a.kind === 'start-vm' ? [a.vm] : []));
                if (starting.length) {
                    progress({ step: 'image', phase: 'start', message: 'guest images' });
                    await deps.vms.prepareImages(starting, progress);
                    progress({ step: 'image', phase: 'done', message: 'guest images ready' });
                }
                applied = await execute(actions, { desired, deployed, deps, progress, hugepages, saveHugepages: save, onGuest, booting });
            } catch (err) {
                if (!state?.deployed) {
                    // A first deploy that fails leaves nothing behind.
                    progress({ step: 'rollback', phase: 'start', message: 'deploy failed: removing what it started' });
                    const kept = keepLogs(err, desired.runDir, desired.topology);
                    try {
                        await teardown(desired.runDir, { version: 1, pending: desired, hugepages, guests: [...guests.values()], updatedAt: '' }, deps, progress);
                    } catch (e2) {
                        progress({ step: 'rollback', phase: 'info', message: e2 instanceof Error ? e2.message : String(e2) });
                    }
                    progress({ step: 'rollback', phase: 'done', message: 'rolled back' });
                    throw kept;
                }
                throw err;
            }
            writeState(desired.runDir, { deployed: desired, hugepages, ...kept(state, desired) });
            const hosts = await deployHosts(desired, deps, progress);
            return { applied, status: await collectStatus(file, desired.topology, desired, deps), ...hosts };
        } finally {
            lock.release();
            dropUndeployedRunDir(desired.runDir);
        }
    }

    async function destroy(file: string, opts: RuntimeOptions = {}): Promise<void> {
        const progress = opts.onProgress ?? noop;
        const { topology, runDir } = await runDirOfFile(file, opts);
        if (!existsSync(runDir)) {
            progress({ step: 'destroy', phase: 'info', message: `topology ${topology} is not deployed (no ${runDir})` });
            return;
        }
        const lock = acquireLock(runDir, topology, 'destroy');
        try {
            const state = readStateLenient(runDir);
            const seen = state && {
                ...state,
                ...(state.pending ? { pending: throughOvsdb(state.pending, opts.ovsdb) } : {}),
                ...(state.deployed ? { deployed: throughOvsdb(state.deployed, opts.ovsdb) } : {}),
            };
            await teardown(runDir, seen, deps, progress);
        } finally {
            lock.release();
        }
    }

    async function deployedPlan(file: string, opts: RuntimeOptions = {}): Promise<{ topology: string; plan?: Plan }> {
        const { topology, runDir } = await runDirOfFile(file, opts);
        const state = readStateLenient(runDir);
        return { topology, plan: throughOvsdb(state?.deployed ?? state?.pending, opts.ovsdb) };
    }

    async function status(file: string, opts: RuntimeOptions = {}): Promise<Status> {
        const { topology, plan } = await deployedPlan(file, opts);
        return withHugepages(plan, annotateStatus(await collectStatus(file, topology, plan, deps), plan?.runDir));
    }

    /** Adds the hugepage budget when the topology declares hugepages and the host can be asked. */
    function withHugepages(plan: Plan | undefined, s: Status): Status {
        const hp = plan?.host.hugepages;
        if (!plan || !hp || !deps.hugepages.observe || !s.deployed) return s;
        const pids: Record<string, { pid: number; pathIncludes?: string[] }> = {};
        for (const v of s.vms) if (v.pid) pids[v.name] = { pid: v.pid };
        const ovs = s.datapaths.find((d) => d.kind === 'ovs');
        const o = plan.datapaths.ovs;
        // Its own pools only: ovs-vswitchd also maps the guests' memory to serve their vhost-user rings.
        if (ovs?.pid && o?.mode === 'private' && o.filePrefix) pids.ovs = { pid: ovs.pid, pathIncludes: [`/${o.filePrefix}map_`, '/memfd:seg_'] };
        const seen = deps.hugepages.observe(hp.pageSizeBytes / 1024, pids);
        const reserved = readStateLenient(plan.runDir)?.hugepages?.added ?? 0;
        return { ...s, hugepages: hugepageBudget(plan, { ...seen, reserved }) };
    }

    async function verify(file: string, opts: RuntimeOptions = {}): Promise<VerifyResult> {
        const { topology, plan } = await deployedPlan(file, opts);
        if (!plan) throw new VtopoError(`topology ${topology} is not deployed`, `run \`vtopo deploy ${file}\` first`, 'not-deployed');
        return verifyPlan(plan, deps, opts.onProgress ?? noop);
    }

    function watch(file: string, onStatus: (s: Status) => void, intervalMs?: number, pollMs?: number) {
        let events: LiveEvents | undefined;
        const w = watchStatus(async (wake) => {
            events ??= liveEvents(deps, wake);
            const { topology, plan } = await deployedPlan(file);
            events.follow(plan);
            return events.annotate(withHugepages(plan, annotateStatus(await collectStatus(file, topology, plan, deps), plan?.runDir)));
        }, onStatus, intervalMs, pollMs);
        return { close() { w.close(); events?.close(); } };
    }

    async function exportPlan(file: string): Promise<Plan> {
        return planFor(file, deps.hostFacts);
    }

    const lab = labOps(deps, async (file, opts) => {
        const { topology, runDir } = await runDirOfFile(file, opts);
        const { plan: p } = await deployedPlan(file, opts);
        return { topology, runDir, plan: p };
    });

    const impair = (file: string, target: string, spec: ImpairmentPlan) => impairLive(file, target, spec, deps);

    return { plan, deploy, destroy, status, verify, watch, exportPlan, deployedPlan, impair, ...lab };
}
