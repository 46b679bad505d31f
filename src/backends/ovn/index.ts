/**
 * The OVN fabric on this machine (issue 20): hosts, central, logical
 * topology, in the order that works (shared/notes/ovn-multihost.md): hosts'
 * OvS with their underlay addresses first (the SB binds to the central
 * host's), then the central, then the chassis and ovn-controllers, then NB.
 * Teardown runs the other way round, ovn-controller first while the SB is
 * still there to hear it leave.
 */
import type { FabricPlan } from '../../core/plan.js';
import { centralHere, hostsHere, writesNorthbound } from '../../core/fabric.js';
import { VtopoError } from '../../core/api.js';
import { sleep } from '../../host/procs.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { op } from '../ovs/ovsdb/values.js';
import { startCentral, stopCentral } from './central.js';
import { controllerPid, startController, startHostOvs, stopController, stopHostOvs } from './hosts.js';
import { ensureNb, removeNb, sbTarget } from './nb.js';
import { checkSupported, SB_DB } from './paths.js';
import { ensureUnderlay, removeUnderlay } from './underlay.js';

export { centralState, startCentral, stopCentral } from './central.js';
export { ensureNb, removeNb, waitHv } from './nb.js';
export { controllerPid, ensureVif, removeVifs, startController, startHostOvs, stopController, stopHostOvs } from './hosts.js';
export { ensureUnderlay, removeUnderlay } from './underlay.js';
export { fabricStatus } from './status.js';
export { hostNetns, hostOvsPlan } from './paths.js';

const CHASSIS_TIMEOUT_MS = 30_000;

/** Whether any host run here needs the underlay vtopo builds from veths (the others are on their own uplink). */
const buildsUnderlay = (f: FabricPlan) => hostsHere(f).some((h) => !h.uplink);

/**
 * Brings this machine's part of the fabric up (or back: everything reused
 * that runs): its hosts, the central when it runs here, and NB made equal to
 * the plan when this machine writes it, waiting for its chassis.
 */
export async function fabricUp(topology: string, f: FabricPlan, opts: { waitHv?: boolean } = {}): Promise<void> {
    const here = hostsHere(f);
    for (const h of here) checkSupported(h);
    if (buildsUnderlay(f)) await ensureUnderlay(topology, f);
    for (const h of here) await startHostOvs(topology, f, h);
    if (centralHere(f)) await startCentral(topology, f);
    for (const h of here) await startController(topology, f, h);
    await waitChassis(f, here.map((h) => h.chassis), CHASSIS_TIMEOUT_MS);
    if (writesNorthbound(f)) await ensureNb(topology, f, { wait: opts.waitHv });
}

/** Ends everything fabricUp started and removes what it made; safe to call again, and after any fault. */
export async function fabricDown(topology: string, f: FabricPlan): Promise<void> {
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
        try {
            await fn();
        } catch (e) {
            errors.push(`${what}: ${(e as Error).message}`);
        }
    };
    const here = hostsHere(f);
    for (const h of here) await step(`ovn-controller on ${h.name}`, () => stopController(f, h));
    if (f.central.kind === 'external' && !f.scope) await step('NB rows', () => removeNb(topology, f));
    if (centralHere(f)) await step('OVN central', () => stopCentral(f));
    if (buildsUnderlay(f)) await step('underlay', () => removeUnderlay(topology, f));
    for (const h of here) await step(`OvS on ${h.name}`, () => stopHostOvs(topology, f, h));
    if (errors.length) throw new VtopoError(`destroying the fabric left work undone: ${errors.join('; ')}`, 'run `vtopo destroy` again');
}

/** Waits until each named chassis has a SB Chassis row; on timeout says which are missing and whether their ovn-controller runs. */
export async function waitChassis(f: FabricPlan, chassis: string[], timeoutMs: number): Promise<void> {
    const target = sbTarget(f);
    if (!target || chassis.length === 0) return;
    const end = Date.now() + timeoutMs;
    let missing = chassis;
    for (;;) {
        const c = await OvsdbClient.connect(target, { connectTimeoutMs: 3000 }).catch(() => undefined);
        if (c) {
            try {
                const rows = (await c.transact(SB_DB, [op.select('Chassis', [], ['name'])]))[0].rows ?? [];
                const have = new Set(rows.map((r) => r.name as string));
                missing = chassis.filter((x) => !have.has(x));
            } finally {
                c.close();
            }
        }
        if (missing.length === 0) return;
        if (Date.now() > end) break;
        await sleep(100);
    }
    const why = missing.map((m) => {
        const h = f.hosts.find((x) => x.chassis === m);
        return `${m}${h ? ` (host ${h.name}: ovn-controller ${controllerPid(h) ? 'runs' : 'is not running'}, log ${h.controller.logFile})` : ''}`;
    });
    throw new VtopoError(`chassis not registered in the OVN Southbound within ${timeoutMs} ms: ${why.join('; ')}`,
        'check the host\'s ovn-controller log: it must reach the Southbound over the underlay');
}
