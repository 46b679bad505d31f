/** Performs reconcile's actions through the backends, reporting progress per step. */
import type { DatapathKind, Plan, VmPlan } from '../core/plan.js';
import type { ProgressEvent, PlannedAction } from '../core/api.js';
import { VtopoError } from '../core/api.js';
import { targetOf, toPlanned, type Action } from './actions.js';
import type { RuntimeDeps } from './deps.js';
import type { HugepageReservation } from '../host/state.js';

export interface ExecContext {
    desired: Plan;
    deployed?: Plan;
    deps: RuntimeDeps;
    progress: (e: ProgressEvent) => void;
    hugepages?: HugepageReservation;
    /** Persists the reservation as soon as it changes (a crash must not lose it). */
    saveHugepages(r: HugepageReservation | undefined): void;
    /** Called as each guest starts or stops, so the state says what runs if the deploy stops part-way. */
    onGuest?(vm: VmPlan, running: boolean): void;
    /** Guests of the plan still booting (started by an earlier deploy that failed before they were up): waited for too. */
    booting?: VmPlan[];
}

const STEP: Record<Action['kind'], string> = {
    'reserve-hugepages': 'hugepages', 'release-hugepages': 'hugepages', 'resize-hugepages': 'hugepages',
    'start-datapath': 'datapath', 'stop-datapath': 'datapath',
    'add-bridge': 'bridge', 'remove-bridge': 'bridge', 'add-link': 'link', 'remove-link': 'link',
    'add-nic': 'nic', 'remove-nic': 'nic', 'add-port': 'port', 'remove-port': 'port',
    'set-impair': 'impair',
    'start-vm': 'vm', 'stop-vm': 'vm',
};

/** Runs every action in order, then waits for the started guests. Returns what was applied. */
export async function execute(actions: Action[], ctx: ExecContext): Promise<PlannedAction[]> {
    const { desired, deps } = ctx;
    const old = ctx.deployed ?? desired;
    const applied: PlannedAction[] = [];
    const started: VmPlan[] = [];
    for (const a of actions) {
        const step = STEP[a.kind];
        ctx.progress({ step, phase: 'start', message: `${a.kind.replace('-', ' ')} ${targetOf(a).replace(/^\w+ /, '')}${a.reason ? ` (${a.reason})` : ''}` });
        switch (a.kind) {
            case 'reserve-hugepages':
                ctx.hugepages = deps.hugepages.reserve(a.hugepages, (r) => { ctx.hugepages = r; ctx.saveHugepages(r); });
                break;
            case 'resize-hugepages': {
                const onRecord = (r: HugepageReservation) => { ctx.hugepages = r; ctx.saveHugepages(r); };
                // No record (state from before reservations were kept): reserve as new.
                ctx.hugepages = ctx.hugepages ? deps.hugepages.resize(ctx.hugepages, a.hugepages, onRecord) : deps.hugepages.reserve(a.hugepages, onRecord);
                break;
            }
            case 'release-hugepages':
                if (ctx.hugepages) ctx.progress({ step, phase: 'info', message: releaseHugepagesCounted(deps, ctx.hugepages) });
                ctx.hugepages = undefined;
                ctx.saveHugepages(undefined);
                break;
            case 'start-datapath': await (await deps.backend(a.datapath)).start(desired); break;
            case 'stop-datapath': await (await deps.backend(a.datapath)).stop(old.datapaths[a.datapath] ? old : desired); break;
            case 'add-bridge': await (await deps.backend(a.datapath)).addBridge(desired, a.bridge); break;
            case 'remove-bridge': await (await deps.backend(a.datapath)).removeBridge(old, a.name); break;
            case 'add-link': await (await deps.backend(a.datapath)).addLink(desired, a.link); break;
            case 'remove-link': await (await deps.backend(a.datapath)).removeLink(old, a.id); break;
            case 'add-nic': await (await deps.backend(a.datapath)).addNic(desired, a.nic); break;
            case 'remove-nic': await (await deps.backend(a.datapath)).removeNic(old, a.name); break;
            case 'add-port': await (await deps.backend(a.datapath)).addVmPort(desired, a.port); break;
            case 'remove-port': await (await deps.backend(a.datapath)).removeVmPort(old, a.id); break;
            case 'set-impair': await (await deps.backend(a.datapath)).setImpair(desired, a.target, a.impair); break;
            case 'stop-vm':
                await deps.vms.stop(a.vm);
                ctx.onGuest?.(a.vm, false);
                break;
            case 'start-vm':
                // Recorded first: a QEMU that fails half-way may still be running.
                ctx.onGuest?.(a.vm, true);
                await deps.vms.start(a.vm);
                started.push(a.vm);
                break;
        }
        applied.push(toPlanned(a));
        ctx.progress({ step, phase: 'done', message: targetOf(a) });
    }
    const waiting = [...started, ...(ctx.booting ?? []).filter((v) => !started.some((s) => s.name === v.name))];
    await waitForGuests(waiting, ctx);
    return applied;
}

/** Waits until the guests are up and their ports taken in; a deploy is done only then. */
export async function waitForGuests(vms: VmPlan[], ctx: Pick<ExecContext, 'desired' | 'deps' | 'progress'>): Promise<void> {
    if (!vms.length) return;
    await waitAllReady(vms, ctx);
    await settlePorts(vms, ctx);
}

/** Lets each datapath take in the started guests' ports (see DatapathBackend.settle). */
async function settlePorts(vms: VmPlan[], ctx: Pick<ExecContext, 'desired' | 'deps' | 'progress'>): Promise<void> {
    const byKind = new Map<DatapathKind, string[]>();
    for (const p of vms.flatMap((v) => v.ports)) {
        const ids = byKind.get(p.datapath);
        if (ids) ids.push(p.id);
        else byKind.set(p.datapath, [p.id]);
    }
    for (const [kind, ids] of byKind) {
        const be = await ctx.deps.backend(kind);
        if (!be.settle) continue;
        await be.settle(ctx.desired, ids, (message) => ctx.progress({ step: 'ready', phase: 'info', message }));
    }
}

async function waitAllReady(vms: VmPlan[], ctx: Pick<ExecContext, 'deps' | 'progress'>): Promise<void> {
    const timeoutMs = ctx.deps.readyTimeoutMs ?? 180_000;
    ctx.progress({ step: 'ready', phase: 'start', message: `waiting for ${vms.map((v) => v.name).join(', ')} to boot (${vms[0].accel})` });
    const results = await Promise.allSettled(vms.map(async (vm) => {
        try {
            await ctx.deps.vms.waitReady(vm, { timeoutMs, onProgress: ctx.progress });
            ctx.progress({ step: 'ready', phase: 'info', message: `vm ${vm.name} is up` });
        } catch (err) {
            if (err instanceof VtopoError) throw err;
            throw new VtopoError(
                `vm ${vm.name} did not come up: ${err instanceof Error ? err.message : String(err)}`,
                `see QEMU's log ${vm.qemuLog} and the guest console ${vm.serialLog}`,
                'vm-not-ready',
            );
        }
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    ctx.progress({ step: 'ready', phase: 'done', message: `${vms.length} guest(s) up` });
}

/**
 * Gives a reservation back and says so with the host's count before and
 * after, so the output proves destroy returned exactly what it took.
 */
export function releaseHugepagesCounted(deps: RuntimeDeps, r: HugepageReservation): string {
    const took = r.added;
    const count = () => deps.hugepages.observe?.(r.sizeKb, {}).host?.total;
    const before = count();
    deps.hugepages.release(r);
    const after = count();
    const size = r.sizeKb >= 1024 * 1024 ? `${r.sizeKb / 1024 / 1024}G` : `${r.sizeKb / 1024}M`;
    if (before === undefined || after === undefined) return `hugepages ${size}: gave back the ${took} this topology took`;
    const gave = before - after;
    return `hugepages ${size}: host ${before} → ${after} pages; gave back ${gave} of the ${took} this topology took${gave === took ? '' : ' (pages still in use go back when their user exits)'}`;
}
