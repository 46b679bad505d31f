/**
 * The `ovs` datapath of a Plan with a fabric (plan.datapaths.ovs.mode
 * 'fabric'): the OvS-DPDK of every host, joined by OVN. Implements the
 * DatapathBackend contract over the OVN backends (fabricUp/fabricDown,
 * ensureNb, ensureVif/removeVifs, fabricStatus), so reconcile and execute
 * deploy a topology across hosts exactly as one on one host: bridges are
 * logical switches in NB, VM ports are VIFs (external_ids:iface-id) on
 * their host's integration bridge. The registry (src/backends/registry.ts)
 * routes fabric plans here.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BridgePlan, FabricHostPlan, FabricPlan, Plan, VmPortPlan } from '../../core/plan.js';
import { impairmentIsEmpty } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import type { FabricStatus, PortStatus } from '../../core/status.js';
import { sleep, uptimeSeconds } from '../../host/procs.js';
import { instanceState } from '../ovs/instance.js';
import { watchOvsPorts } from '../ovs/monitor.js';
import { K_ID, K_KIND, K_TOPOLOGY, marks, vmPortIfName } from '../ovs/names.js';
import { VSWITCH_DB } from '../ovs/ovsdb/cfg.js';
import { map, op, toRecord, type Condition, type Row } from '../ovs/ovsdb/values.js';
import { INTERFACE_COLUMNS, interfaceToPortStatus } from '../ovs/status.js';
import type { DatapathBackend, DatapathInventory, DatapathSnapshot } from '../types.js';
import { centralState } from './central.js';
import { connectHost, controllerPid, ensureVif, removeVifs, stopController, stopHostOvs } from './hosts.js';
import { fabricDown, fabricUp, waitChassis } from './index.js';
import { connectNb, ensureNb } from './nb.js';
import { checkSupported, hostOvsPlan, NB_DB, TOPOLOGY_KEY } from './paths.js';
import { centralHere, hostsHere, hostsOverSsh, L3_KEY, l3KeyOf, writesNorthbound } from '../../core/fabric.js';
import type { HostDeployResult } from '../../core/api.js';
import { deployOn, destroyOn } from './remote.js';
import { fabricStatus } from './status.js';

/** A VM port still down this long is worth a sentence of its own (as on one host). */
const STUCK_DOWN_MS = 30_000;
/** How long settle waits for the started guests' logical ports to come up. */
const SETTLE_MS = 30_000;

export function fabricOf(plan: Plan): FabricPlan {
    if (!plan.fabric) {
        throw new VtopoError(`topology ${plan.topology} has an OvS fabric datapath but no fabric in its plan`,
            're-run `vtopo deploy` so the plan is rebuilt', 'internal');
    }
    return plan.fabric;
}

/** The hosts whose OvS runs on this machine (an ssh host's runs there, deployed by its own vtopo). */
const hereHosts = hostsHere;

/** The fabric host a VM port runs on: its VM's host, else its logical port's, else the local host. */
export function hostOfPort(plan: Plan, id: string): FabricHostPlan {
    const f = fabricOf(plan);
    const vm = plan.vms.find((v) => v.ports.some((p) => p.id === id));
    const name = vm?.host ?? f.switches.flatMap((s) => s.ports).find((p) => p.name === id)?.host;
    const h = (name ? f.hosts.find((x) => x.name === name) : undefined) ?? (!name ? f.hosts.find((x) => x.kind === 'local') : undefined);
    if (!h) throw new VtopoError(`port ${id} is placed on host ${name ?? '(none)'}, which is not a host of the fabric`, 're-run `vtopo deploy` so the plan is rebuilt');
    return h;
}

const ours = (plan: Plan): Condition => ['external_ids', 'includes', map({ [K_TOPOLOGY]: plan.topology, [K_KIND]: 'vm-port' })];

/** Our VM ports' Interface rows on one host's OvS. */
async function hostInterfaces(plan: Plan, h: FabricHostPlan, columns: string[]): Promise<Row[]> {
    const c = await connectHost(h);
    try {
        return (await c.transact(VSWITCH_DB, [op.select('Interface', [ours(plan)], columns)]))[0].rows ?? [];
    } finally {
        c.close();
    }
}

/** What is down of the fabric, one sentence each (empty: all of it runs). */
async function downParts(plan: Plan): Promise<string[]> {
    const f = fabricOf(plan);
    const out: string[] = [];
    if (centralHere(f) && f.central.kind === 'private') {
        const cs = centralState(f);
        const missing = [!cs.nbPid && 'NB ovsdb-server', !cs.sbPid && 'SB ovsdb-server', !cs.northdPid && 'ovn-northd'].filter(Boolean);
        if (missing.length) out.push(`OVN central on ${f.central.host}: ${missing.join(', ')} not running`);
    }
    for (const h of hereHosts(f)) {
        if (!(await instanceState(hostOvsPlan(plan.topology, h))).running) out.push(`host ${h.name}: its OvS is not running`);
        if (!controllerPid(h)) out.push(`host ${h.name}: ovn-controller is not running`);
    }
    return out;
}

/**
 * Each host this topology ever started, as `<runDir>/fabric-hosts/<host>.json`
 * (the host and the fabric settings its teardown needs), written before it
 * starts: stop ends the hosts a later plan no longer names (a host removed
 * from the file) as well as the plan's own.
 */
const recordsDir = (plan: Plan) => path.join(plan.runDir, 'fabric-hosts');

interface HostRecord { topology: string; fabric: FabricPlan; host: FabricHostPlan }

function recordHosts(plan: Plan): void {
    const f = fabricOf(plan);
    mkdirSync(recordsDir(plan), { recursive: true, mode: 0o700 });
    for (const h of [...hereHosts(f), ...hostsOverSsh(f)]) {
        const rec: HostRecord = { topology: plan.topology, fabric: { ...f, switches: [], routers: [] }, host: h };
        writeFileSync(recordPath(plan, h.name), JSON.stringify(rec), { mode: 0o600 });
    }
}

/** Hosts recorded by an earlier plan that this plan does not name. */
function formerHosts(plan: Plan): HostRecord[] {
    const dir = recordsDir(plan);
    if (!existsSync(dir)) return [];
    const names = new Set(fabricOf(plan).hosts.map((h) => h.name));
    return readdirSync(dir).filter((n) => n.endsWith('.json')).flatMap((n) => {
        try {
            const rec = JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as HostRecord;
            return names.has(rec.host.name) ? [] : [rec];
        } catch {
            return [];
        }
    });
}

const recordPath = (plan: Plan, host: string) => path.join(recordsDir(plan), `${encodeURIComponent(host)}.json`);

/** A dropped host's ovn-controller (here) or its whole part (an ssh host's, by its own vtopo there). */
async function endFormerController(rec: HostRecord): Promise<void> {
    if (rec.host.kind === 'ssh' && !rec.fabric.scope) await destroyOn(rec.host, rec.topology, () => undefined);
    else await stopController(rec.fabric, rec.host);
}

async function endFormerOvs(rec: HostRecord): Promise<void> {
    if (rec.host.kind !== 'ssh' || rec.fabric.scope) await stopHostOvs(rec.topology, rec.fabric, rec.host);
}

function errorParts(e: unknown): { error: string; fix?: string } {
    return e instanceof VtopoError ? { error: e.message, ...(e.fix ? { fix: e.fix } : {}) } : { error: String((e as Error).message ?? e) };
}

/** The plan's fabric without one logical switch (and the router ports onto it). */
function withoutSwitch(f: FabricPlan, name: string): FabricPlan {
    return {
        ...f,
        switches: f.switches.filter((s) => s.name !== name),
        routers: f.routers.map((r) => ({ ...r, ports: r.ports.filter((p) => p.switch !== name) })),
    };
}

function removeSymlink(p: string): void {
    try {
        if (lstatSync(p).isSymbolicLink()) rmSync(p, { force: true });
    } catch {
        /* absent */
    }
}

/** Warnings for status: ports not bound (or on another chassis), chassis missing, controllers stopped, tunnels down. */
export function fabricWarnings(s: FabricStatus): { port?: string; message: string }[] {
    const out: { port?: string; message: string }[] = [];
    for (const h of s.hosts) {
        if (h.error) out.push({ message: `host ${h.name}: ${h.error}` });
        if (h.controller === 'stopped') out.push({ message: `host ${h.name}: ovn-controller is not running (the next \`vtopo deploy\` restarts it)` });
        if (h.chassis_registered === false) out.push({ message: `host ${h.name}: chassis ${h.chassis} is not registered in the OVN Southbound` });
        for (const t of h.tunnels) if (t.link === 'down') out.push({ message: `host ${h.name}: tunnel ${t.port} to ${t.peer ?? t.remote_ip} is down` });
    }
    for (const p of s.ports) {
        if (!p.up) out.push({ port: p.name, message: `logical port ${p.name} is not up: ${p.chassis ? `bound on ${p.chassis}, flows not yet installed` : `not bound to any chassis (host ${p.host})`}` });
        else if (p.on_planned_chassis === false) out.push({ port: p.name, message: `logical port ${p.name} is bound on ${p.chassis ?? '?'}, not on host ${p.host}'s chassis` });
    }
    return out;
}

async function snapshot(plan: Plan, running: boolean): Promise<DatapathSnapshot> {
    const f = fabricOf(plan);
    const down = running ? [] : await downParts(plan);
    const datapath: DatapathSnapshot['datapath'] = { kind: 'ovs', running: running && down.length === 0, mode: 'fabric' };
    const local = hereHosts(f).find((h) => h.kind === 'local') ?? hereHosts(f)[0];
    const localPid = local && (await instanceState(hostOvsPlan(plan.topology, local))).vswitchdPid;
    if (localPid) {
        datapath.pid = localPid;
        datapath.uptime_s = uptimeSeconds(localPid);
    }
    if (down.length) datapath.error = down.join('; ');
    const ports: PortStatus[] = [];
    for (const h of hereHosts(f)) {
        const rows = await hostInterfaces(plan, h, INTERFACE_COLUMNS).catch(() => []);
        for (const r of rows) {
            const s = interfaceToPortStatus(r);
            if (s) ports.push(s);
        }
    }
    ports.sort((a, b) => a.id.localeCompare(b.id));
    const fabric = await fabricStatus(f);
    const warnings = fabricWarnings(fabric);
    return { datapath, ports, fabric, ...(warnings.length ? { warnings } : {}) };
}

export const fabricDatapath: DatapathBackend = {
    kind: 'ovs',

    /** Central, every host's OvS and every ovn-controller up (an ssh host: never, so start refuses it by name). */
    async running(plan) {
        return (await downParts(plan)).length === 0;
    },

    async start(plan) {
        recordHosts(plan);
        await fabricUp(plan.topology, fabricOf(plan));
        // QEMU serves client-mode sockets and may start before its port exists in OvS.
        for (const port of plan.vms.flatMap((v) => v.ports)) {
            if (port.datapath === 'ovs') mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
        }
    },

    async stop(plan) {
        const errors: string[] = [];
        const step = async (what: string, fn: () => Promise<void>) => {
            try {
                await fn();
            } catch (e) {
                errors.push(`${what}${(e as Error).message}`);
            }
        };
        const former = formerHosts(plan);
        // Other machines' parts and their ovn-controllers first, while the SB is there to hear them leave (as fabricDown does).
        for (const h of hostsOverSsh(fabricOf(plan))) await step(`host ${h.name}: `, () => destroyOn(h, plan.topology, () => undefined));
        for (const rec of former) await step(`host ${rec.host.name} (no longer in the file): `, () => endFormerController(rec));
        await step('', () => fabricDown(plan.topology, fabricOf(plan)));
        for (const rec of former) await step(`host ${rec.host.name} (no longer in the file): `, () => endFormerOvs(rec));
        for (const port of plan.vms.flatMap((v) => v.ports)) {
            if (port.datapath === 'ovs' && port.vhostMode === 'server') removeSymlink(port.socketPath);
        }
        if (errors.length) throw new VtopoError(errors.join('; '), 'run `vtopo destroy` again');
        rmSync(recordsDir(plan), { recursive: true, force: true });
    },

    async inventory(plan): Promise<DatapathInventory> {
        const f = fabricOf(plan);
        // Off the central, the Northbound is the central's to write: its switches count as there.
        const inv: DatapathInventory = { bridges: writesNorthbound(f) ? [] : f.switches.map((s) => s.name), links: [], vmPorts: [], nics: [] };
        const c = writesNorthbound(f) ? await connectNb(f) : undefined;
        try {
            const rows = !c ? [] : (await c.transact(NB_DB, [op.select('Logical_Switch', [], ['name', 'external_ids'])]))[0].rows ?? [];
            // A switch whose routers changed since NB was written counts as missing: add-bridge rewrites NB (ensureNb), its ports stay.
            if (c) inv.bridges = rows.filter((r) => {
                const ext = toRecord(r.external_ids);
                return ext[TOPOLOGY_KEY] === plan.topology && ext[L3_KEY] === l3KeyOf(f, r.name as string);
            }).map((r) => r.name as string);
        } finally {
            c?.close();
        }
        for (const h of hereHosts(f)) {
            for (const r of await hostInterfaces(plan, h, ['external_ids'])) {
                const ext = toRecord(r.external_ids);
                if (ext['iface-id'] && ext[K_ID]) inv.vmPorts.push(ext[K_ID]);
            }
        }
        inv.bridges.sort();
        inv.vmPorts.sort();
        return inv;
    },

    /** NB made equal to the plan's logical topology (idempotent: only what differs changes). */
    async addBridge(plan, _bridge: BridgePlan) {
        if (writesNorthbound(fabricOf(plan))) await ensureNb(plan.topology, fabricOf(plan), { wait: false });
    },

    async removeBridge(plan, name) {
        if (writesNorthbound(fabricOf(plan))) await ensureNb(plan.topology, withoutSwitch(fabricOf(plan), name), { wait: false });
    },

    async addLink(_plan, link) {
        throw new VtopoError(`link ${link.id}: bridges of a fabric are OVN logical switches, which links do not join`,
            'join the two bridges with a `router` instead', 'unsupported');
    },

    async removeLink() {
        // A fabric never has links (addLink refuses them): nothing to remove.
    },

    async addVmPort(plan, port: VmPortPlan) {
        const h = hostOfPort(plan, port.id);
        checkSupported(h);
        // A host the deployed plan did not have (added to the file): bring the fabric up to the plan first.
        if (!(await instanceState(hostOvsPlan(plan.topology, h))).running || !controllerPid(h)) {
            recordHosts(plan);
            await fabricUp(plan.topology, fabricOf(plan));
        }
        const name = vmPortIfName(port);
        mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
        const client = port.vhostMode === 'client';
        if (!client) removeSymlink(port.socketPath);
        // As the single-host OvS backend: client means QEMU is the socket server and OvS dials it.
        await ensureVif(h, {
            name,
            type: client ? 'dpdkvhostuserclient' : 'dpdkvhostuser',
            options: client ? { 'vhost-server-path': port.socketPath } : {},
            externalIds: marks(plan, 'vm-port', port.id, port.bridge),
            mtuRequest: port.mtu,
            ifaceId: port.id,
        });
        if (!client) {
            // OvS makes server sockets in its vhost-sock-dir (the host's OvS run directory); QEMU finds it at the plan's path.
            const actual = path.join(h.ovs.runDir, name);
            if (path.resolve(actual) !== path.resolve(port.socketPath)) symlinkSync(actual, port.socketPath);
        }
        if (writesNorthbound(fabricOf(plan))) await ensureNb(plan.topology, fabricOf(plan), { wait: false });
        if (port.impair && !impairmentIsEmpty(port.impair)) await fabricDatapath.setImpair(plan, { port: port.id }, port.impair);
    },

    async removeVmPort(plan, id) {
        const h = hostOfPort(plan, id);
        const port = plan.vms.flatMap((v) => v.ports).find((p) => p.id === id);
        if (hereHosts(fabricOf(plan)).includes(h)) await removeVifs(h, [port ? vmPortIfName(port) : id.replace(/\//g, '_')]);
        if (port?.vhostMode === 'server') removeSymlink(port.socketPath);
    },

    async addNic(_plan, nic) {
        throw new VtopoError(`nic ${nic.name}: NICs on the bridges of a fabric are not yet supported`, 'leave the NIC out of the fabric topology', 'unsupported');
    },

    async removeNic() {
        // addNic refuses NICs on a fabric: nothing to remove.
    },

    async setImpair(_plan, target, impair) {
        if (impairmentIsEmpty(impair)) return;
        const what = 'link' in target ? `link ${target.link}` : `port ${target.port}`;
        throw new VtopoError(`${what}: impairments on the bridges of a fabric are not yet supported`, 'remove the impairment, or deploy that part on one host', 'unsupported');
    },

    snapshot: (plan) => snapshot(plan, true),

    async describe(plan) {
        return snapshot(plan, false);
    },

    /**
     * Waits (bounded) until NB is applied on every chassis (hv_cfg, as
     * `ovn-nbctl --wait=hv`) and the guests' logical ports are up; never
     * fails: a port still down is for status to explain.
     */
    async settle(plan, portIds, onWait) {
        const f = fabricOf(plan);
        const end = Date.now() + SETTLE_MS;
        try {
            if (writesNorthbound(f)) await ensureNb(plan.topology, f, { timeoutMs: SETTLE_MS });
        } catch (e) {
            onWait((e as Error).message);
            return;
        }
        const want = new Set(portIds);
        let down: string[] = [];
        let said = false;
        while (Date.now() < end) {
            const st = await fabricStatus(f);
            down = st.ports.filter((p) => want.has(p.name) && !p.up).map((p) => p.name);
            if (down.length === 0) return;
            if (!said) {
                onWait(`waiting for OVN to bind ${down.join(', ')}`);
                said = true;
            }
            await sleep(200);
        }
        onWait(`logical ports still not up after ${SETTLE_MS / 1000} s: ${down.join(', ')} (vtopo status shows their binding)`);
    },

    /** Each host's OvS pushes its VIFs' changes (the single-host OVSDB monitor, one per host). */
    async subscribe(plan, onEvent) {
        const got = await Promise.allSettled(hereHosts(fabricOf(plan)).map((h) => watchOvsPorts(hostOvsPlan(plan.topology, h),
            (e) => onEvent({ id: e.id, kind: e.kind, ...(e.message ? { message: e.message } : {}) }), { stuckDownMs: STUCK_DOWN_MS })));
        const watches = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const failed = got.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) {
            for (const w of watches) w.close();
            throw failed.reason;
        }
        return { close: () => { for (const w of watches) w.close(); } };
    },

    async deployHosts(plan, progress) {
        const f = fabricOf(plan);
        const out: HostDeployResult[] = [];
        for (const rec of formerHosts(plan)) {
            progress(`host ${rec.host.name} is no longer in the file: ending its part`);
            try {
                await endFormerController(rec);
                await endFormerOvs(rec);
                rmSync(recordPath(plan, rec.host.name), { force: true });
                out.push({ host: rec.host.name, ok: true, applied: 1 });
            } catch (e) {
                out.push({ host: rec.host.name, ok: false, ...errorParts(e) });
            }
        }
        for (const h of hostsOverSsh(f)) {
            progress(`host ${h.name}: deploying its part over ssh (${h.ssh})`);
            try {
                const applied = await deployOn(h, plan.topology, plan.sourceFile, (line) => progress(`host ${h.name}: ${line.replace(/^\s+/, '')}`));
                progress(`host ${h.name}: ${applied ? `applied ${applied} action(s)` : 'nothing to change'}`);
                out.push({ host: h.name, ok: true, applied });
            } catch (e) {
                progress(`host ${h.name}: ${(e as Error).message}`);
                out.push({ host: h.name, ok: false, ...errorParts(e) });
            }
        }
        if (hostsOverSsh(f).length && out.every((r) => r.ok)) {
            await waitChassis(f, f.hosts.map((h) => h.chassis), SETTLE_MS).catch((e) => progress((e as Error).message));
        }
        return out;
    },

    async setLink(_plan, target) {
        // A guest port's carrier is the VM layer's (QMP set_link): OVN sees the guest go silent.
        if ('link' in target) throw new VtopoError(`link ${target.link}: a fabric has no links`, 'take a guest port down instead', 'unsupported');
    },
};
