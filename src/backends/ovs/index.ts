/**
 * `datapath ovs`: vtopo bridges, VM ports, NICs and links as OvS rows,
 * written over OVSDB and confirmed with the next_cfg → cur_cfg barrier.
 * Implements the DatapathBackend contract (src/backends/types.ts).
 */
import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { IMPAIRMENT_KEYS, impairmentIsEmpty, type BridgePlan, type LinkPlan, type NicPlan, type Plan, type VlanPlan, type VmPortPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import type { PortStatus } from '../../core/status.js';
import { uptimeSeconds } from '../../host/procs.js';
import type { DatapathBackend, DatapathInventory, DatapathSnapshot } from '../types.js';
import { openOvsCapture } from './capture.js';
import { run } from './exec.js';
import { instanceState, startInstance, stopInstance, withClient } from './instance.js';
import { K_ID, K_KIND, K_TOPOLOGY, linkIfNames, marks, nicIfName, ovsBridgeName, vmPortIfName } from './names.js';
import { bumpAndWait, transactAndWait, VSWITCH_DB } from './ovsdb/cfg.js';
import type { OvsdbClient } from './ovsdb/client.js';
import { map, namedUuid, op, optional, set, toArray, toRecord, uuid, type Condition, type Operation, type Row } from './ovsdb/values.js';
import { ovsPaths } from './paths.js';
import { INTERFACE_COLUMNS, interfaceToPortStatus } from './status.js';
import { applyPmdPicture, parsePmdPerfShow, parsePmdRxqShow, pollersOf, portWarnings } from './pmd.js';

export { watchOvsPorts, type OvsPortEvent, type OvsPortWatch } from './monitor.js';
import { watchOvsPorts } from './monitor.js';

/** A VM port still down this long after it appeared or went down is worth a sentence of its own. */
const STUCK_DOWN_MS = 30_000;
export { startInstance, stopInstance } from './instance.js';

const ours = (plan: Plan): Condition => ['external_ids', 'includes', map({ [K_TOPOLOGY]: plan.topology })];
const oursOf = (plan: Plan, kind: string, id: string): Condition =>
    ['external_ids', 'includes', map({ [K_TOPOLOGY]: plan.topology, [K_KIND]: kind, [K_ID]: id })];

export const ovsBackend: DatapathBackend = {
    kind: 'ovs',

    async running(plan) {
        return (await instanceState(plan)).running;
    },

    async start(plan) {
        await startInstance(plan);
        // QEMU serves client-mode sockets and may start before its port exists in OvS.
        for (const port of plan.vms.flatMap((v) => v.ports)) {
            if (port.datapath === 'ovs') mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
        }
    },

    async stop(plan) {
        await restoreMovedIfaces(plan);
        await stopInstance(plan);
        for (const port of plan.vms.flatMap((v) => v.ports)) {
            if (port.datapath === 'ovs' && port.vhostMode === 'server') removeSymlink(port.socketPath);
        }
    },

    async inventory(plan): Promise<DatapathInventory> {
        return withClient(plan, async (c) => {
            const [br, ports] = await c.transact(VSWITCH_DB, [
                op.select('Bridge', [ours(plan)], ['external_ids']),
                op.select('Port', [ours(plan)], ['external_ids']),
            ]);
            const inv: DatapathInventory = { bridges: [], links: [], vmPorts: [], nics: [] };
            for (const r of br.rows ?? []) inv.bridges.push(toRecord(r.external_ids)[K_ID]);
            for (const r of ports.rows ?? []) {
                const ext = toRecord(r.external_ids);
                const id = ext[K_ID];
                if (ext[K_KIND] === 'vm-port') inv.vmPorts.push(id);
                else if (ext[K_KIND] === 'nic') inv.nics.push(id);
                else if (ext[K_KIND] === 'link' && !inv.links.includes(id)) inv.links.push(id);
            }
            for (const list of Object.values(inv)) list.sort();
            return inv;
        });
    },

    async addBridge(plan, bridge: BridgePlan) {
        await withClient(plan, async (c) => {
            if (await findBridge(c, plan, bridge.name)) return;
            const name = ovsBridgeName(bridge.name);
            const clash = (await c.transact(VSWITCH_DB, [op.select('Bridge', [['name', '==', name]], ['external_ids'])]))[0].rows ?? [];
            if (clash.length > 0) {
                const owner = toRecord(clash[0].external_ids)[K_TOPOLOGY];
                throw new VtopoError(`OvS already has a bridge named ${name}${owner ? ` (topology ${owner})` : ' that vtopo did not create'}`,
                    `rename bridge ${bridge.name} in the topology, or remove it from OvS (ovs-vsctl del-br ${name})`);
            }
            const ext = marks(plan, 'bridge', bridge.name, bridge.name);
            await transactAndWait(c, [
                op.insert('Interface', { name, type: 'internal', mtu_request: bridge.mtu, external_ids: map(ext) }, 'iface'),
                op.insert('Port', { name, interfaces: namedUuid('iface'), external_ids: map(ext) }, 'port'),
                op.insert('Bridge', { name, ports: set([namedUuid('port')]), datapath_type: 'netdev', external_ids: map(ext) }, 'br'),
                op.mutate('Open_vSwitch', [], [['bridges', 'insert', set([namedUuid('br')])]]),
            ]);
        });
    },

    async removeBridge(plan, name) {
        await withClient(plan, async (c) => {
            const br = await findBridge(c, plan, name);
            if (!br) return;
            // Port and Interface rows are not root rows: OVSDB drops them with the bridge.
            await transactAndWait(c, [op.mutate('Open_vSwitch', [], [['bridges', 'delete', uuid(br)]])]);
        });
    },

    async addLink(plan, link: LinkPlan) {
        await withClient(plan, async (c) => {
            if (await findPort(c, plan, 'link', link.id)) return;
            const a = await requireBridge(c, plan, link.a);
            const b = await requireBridge(c, plan, link.b);
            const names = linkIfNames(link);
            await transactAndWait(c, [
                ...portOps(a, names.a, { type: 'patch', options: map({ peer: names.b }) }, marks(plan, 'link', link.id, link.a), 'a'),
                ...portOps(b, names.b, { type: 'patch', options: map({ peer: names.a }) }, marks(plan, 'link', link.id, link.b), 'b'),
            ]);
        });
    },

    async removeLink(plan, id) {
        await withClient(plan, (c) => removePorts(c, plan, 'link', id));
    },

    async addVmPort(plan, port: VmPortPlan) {
        await withClient(plan, async (c) => {
            const affinity = rxqAffinity(plan, port.queueCores);
            if (await findPort(c, plan, 'vm-port', port.id)) {
                // A port an older deploy (or version) pinned differently: make its placement the plan's.
                await syncAffinity(c, plan, port.id, affinity);
                return;
            }
            const br = await requireBridge(c, plan, port.bridge);
            const ifName = vmPortIfName(port);
            mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
            const options: Record<string, string> = {};
            if (port.vhostMode === 'client') {
                options['vhost-server-path'] = port.socketPath;
            } else {
                removeSymlink(port.socketPath);
            }
            const iface: Row = {
                type: port.vhostMode === 'client' ? 'dpdkvhostuserclient' : 'dpdkvhostuser',
                options: map(options),
                mtu_request: port.mtu,
            };
            if (affinity) iface.other_config = map({ 'pmd-rxq-affinity': affinity });
            await addChecked(c, plan, 'vm-port', port.id, portOps(br, ifName, iface, marks(plan, 'vm-port', port.id, port.bridge), 'p', port.vlan));
            if (port.impair?.rateBps) await ovsBackend.setImpair(plan, { port: port.id }, port.impair);
            if (port.vhostMode === 'server') {
                // OvS puts server sockets in its vhost-sock-dir; QEMU finds it at the plan's path.
                const actual = await serverSocketPath(c, plan, ifName);
                if (path.resolve(actual) !== path.resolve(port.socketPath)) {
                    mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
                    symlinkSync(actual, port.socketPath);
                }
            }
        });
    },

    /**
     * OvS-DPDK has no delay line: of an impairment it does the rate, as an
     * egress-policer QoS on the VM's Port (frames OvS sends to the guest,
     * like the embedded datapath's qdisc); the checker refuses the rest.
     */
    async setImpair(plan, target, impair) {
        const other = IMPAIRMENT_KEYS.filter((k) => k !== 'rateBps' && impair[k]);
        if ('link' in target) {
            if (impairmentIsEmpty(impair)) return;
            throw new VtopoError(`link ${target.link}: impairment needs datapath embedded (OvS patch ports have no QoS)`, 'put both bridges on `datapath embedded`, or impair the VM ports instead');
        }
        if (other.length) {
            throw new VtopoError(`port ${target.port}: ${other.map((k) => k.replace(/(Us|Pct)$/, '')).join(', ')} needs datapath embedded (OvS-DPDK only polices a rate)`, 'keep only `rate` on ovs bridges, or put the bridge on `datapath embedded`');
        }
        await withClient(plan, async (c) => {
            const rows = (await c.transact(VSWITCH_DB, [op.select('Port', [oursOf(plan, 'vm-port', target.port)], ['_uuid', 'qos', 'external_ids'])]))[0].rows ?? [];
            if (rows.length === 0) throw new VtopoError(`port ${target.port} is not in OvS`, 'run `vtopo deploy` first');
            const port = rows[0];
            const old = toArray(port.qos);
            const ops: Operation[] = [];
            if (impair.rateBps) {
                const bytes = impair.rateBps / 8;
                ops.push(
                    op.insert('QoS', {
                        type: 'egress-policer',
                        // cbs: 5 ms of traffic and at least two full frames, as the embedded token bucket.
                        other_config: map({ cir: String(Math.round(bytes)), cbs: String(Math.round(Math.max(2 * 9018, bytes * 0.005))) }),
                        external_ids: map({ ...toRecord(port.external_ids) }),
                    }, 'q'),
                    op.update('Port', [['_uuid', '==', port._uuid as ['uuid', string]]], { qos: namedUuid('q') }),
                );
            } else ops.push(op.update('Port', [['_uuid', '==', port._uuid as ['uuid', string]]], { qos: set([]) }));
            for (const q of old) ops.push(op.delete('QoS', [['_uuid', '==', q as ['uuid', string]]]));
            await transactAndWait(c, ops);
        });
    },

    async removeVmPort(plan, id) {
        await withClient(plan, (c) => removePorts(c, plan, 'vm-port', id));
        const port = plan.vms.flatMap((v) => v.ports).find((p) => p.id === id);
        if (port?.vhostMode === 'server') removeSymlink(port.socketPath);
    },

    async addNic(plan, nic: NicPlan) {
        await withClient(plan, async (c) => {
            if (await findPort(c, plan, 'nic', nic.name)) return;
            const br = await requireBridge(c, plan, nic.bridge);
            if (nic.driver.kind === 'af_packet') await moveIntoNetns(plan, nic.driver.iface);
            await addChecked(c, plan, 'nic', nic.name, portOps(br, nicIfName(nic), nicInterface(nic), marks(plan, 'nic', nic.name, nic.bridge), 'n', nic.vlan));
            if (nic.driver.kind === 'tap') await moveTapToHost(plan, nic.driver.ifname);
        });
    },

    async removeNic(plan, name) {
        await withClient(plan, (c) => removePorts(c, plan, 'nic', name));
        const nic = plan.nics.find((n) => n.name === name);
        if (nic?.driver.kind === 'af_packet') await moveOutOfNetns(plan, nic.driver.iface);
    },

    settle,

    async subscribe(plan, onEvent) {
        const w = await watchOvsPorts(plan, (e) => onEvent({ id: e.id, kind: e.kind, ...(e.message ? { message: e.message } : {}) }), { stuckDownMs: STUCK_DOWN_MS });
        return { close: () => w.close() };
    },

    async snapshot(plan): Promise<DatapathSnapshot> {
        const st = await instanceState(plan);
        const p = ovsPaths(plan);
        const datapath: DatapathSnapshot['datapath'] = { kind: 'ovs', running: st.running, mode: p.mode };
        if (st.vswitchdPid) {
            datapath.pid = st.vswitchdPid;
            datapath.uptime_s = uptimeSeconds(st.vswitchdPid);
        }
        if (st.error) datapath.error = st.error;
        if (!st.running) return { datapath, ports: [] };
        const rows = await withClient(plan, async (c) =>
            (await c.transact(VSWITCH_DB, [op.select('Interface', [ours(plan)], INTERFACE_COLUMNS)]))[0].rows ?? []);
        const ports = rows.map(interfaceToPortStatus).filter((s) => s !== undefined);
        for (const port of ports) hostTapLink(plan, port);
        ports.sort((a, b) => a.id.localeCompare(b.id));
        const names = new Map<string, string>();
        for (const r of rows) if (typeof r.name === 'string') names.set(r.name, toRecord(r.external_ids)[K_ID]);
        const picture = await pmdPicture(plan, ports, names);
        return { datapath, ports, ...picture };
    },

    async setLink(plan, target) {
        // A guest's NIC loses its carrier in QEMU (QMP set_link, the VM layer's
        // part): OvS sees the guest stop sending and answering. NICs and patch
        // links would need an OpenFlow port-mod, which vtopo does not speak yet.
        if ('link' in target || plan.nics.some((n) => n.name === target.port)) {
            const what = 'link' in target ? `link ${target.link}` : `nic ${target.port}`;
            throw new VtopoError(`${what} is on the ovs datapath: vtopo takes the carrier away only from guest ports there`,
                `take a guest port down instead (vtopo link ${plan.sourceFile} VM.PORT down), or put this bridge on \`datapath embedded\``, 'unsupported');
        }
    },

    openCapture: (plan, portId) => openOvsCapture(plan, portId),
};

/** How far back OvS log warnings about a port still count as present. */
const LOG_WINDOW_MS = 60_000;

/**
 * Who polls each of our queues, read from the running ovs-vswitchd
 * (pmd-rxq-show, pmd-perf-show), and its recent log warnings about our
 * ports. Best effort: an OvS that does not answer leaves the fields out.
 */
async function pmdPicture(plan: Plan, ports: PortStatus[], names: Map<string, string>): Promise<Pick<DatapathSnapshot, 'pollers' | 'warnings'>> {
    const [rxqText, perfText] = await Promise.all([appctl(plan, 'dpif-netdev/pmd-rxq-show'), appctl(plan, 'dpif-netdev/pmd-perf-show')]);
    const out: Pick<DatapathSnapshot, 'pollers' | 'warnings'> = {};
    if (rxqText !== undefined) {
        const rxq = parsePmdRxqShow(rxqText);
        const ifOf = new Map([...names].map(([n, id]) => [id, n]));
        const planPort = (id: string) => plan.vms.flatMap((v) => v.ports).find((p) => p.id === id);
        applyPmdPicture(ports, rxq, (p) => ifOf.get(p.id) ?? p.id,
            (p) => p.vm ? (p.vhost === 'connected' && p.num_of_vrings ? p.num_of_vrings / 2 : 0) : plan.nics.find((n) => n.name === p.id)?.queues ?? 0,
            (p) => { const pp = planPort(p.id); return pp && rxqAffinity(plan, pp.queueCores) ? pp.queueCores : undefined; });
        out.pollers = pollersOf(rxq, perfText !== undefined ? parsePmdPerfShow(perfText) : []);
    }
    const sockets = new Map(plan.vms.flatMap((v) => v.ports).filter((p) => p.datapath === 'ovs').map((p) => [p.socketPath, p.id]));
    const warnings = portWarnings(tailLines(vswitchdLogOf(plan)), names, sockets, Date.now() - LOG_WINDOW_MS);
    if (warnings.length) out.warnings = warnings;
    return out;
}

/** `ovs-appctl` against this plan's ovs-vswitchd; undefined when it does not answer. */
async function appctl(plan: Plan, ...args: string[]): Promise<string | undefined> {
    const p = ovsPaths(plan);
    // An existing OvS: the tools find ovs-vswitchd's control socket by its pidfile next to the database.
    const target = p.mode === 'private' ? ['-t', p.vswitchdCtl] : ['-t', 'ovs-vswitchd'];
    const env = p.mode === 'private' ? process.env : { ...process.env, OVS_RUNDIR: path.dirname(p.dbSocket) };
    const r = await run('ovs-appctl', ['--timeout=5', ...target, ...args], { env, timeoutMs: 7000 });
    return r.code === 0 ? r.stdout : undefined;
}

/** The log an existing OvS writes by default (Debian's ovs-ctl), or our private one. */
function vswitchdLogOf(plan: Plan): string {
    const p = ovsPaths(plan);
    return p.mode === 'private' ? p.vswitchdLog : '/var/log/openvswitch/ovs-vswitchd.log';
}

/** The last lines of a log (its last 128 KiB), or none. */
function tailLines(file: string, bytes = 128 * 1024): string[] {
    try {
        const fd = openSync(file, 'r');
        try {
            const size = fstatSync(fd).size;
            const start = Math.max(0, size - bytes);
            const buf = Buffer.alloc(size - start);
            readSync(fd, buf, 0, buf.length, start);
            return buf.toString('utf8').split('\n');
        } finally {
            closeSync(fd);
        }
    } catch {
        return [];
    }
}

/**
 * How long deploy waits for OvS to report the started guests' ports up.
 * Seen once in CI: a deploy whose guests were up, and OvS counted no
 * packet on their ports for over a minute.
 */
const SETTLE_MS = 20_000;

async function settle(plan: Plan, portIds: string[], onWait: (message: string) => void): Promise<void> {
    if (portIds.length === 0) return;
    const end = Date.now() + SETTLE_MS;
    let said = false;
    await withClient(plan, async (c) => {
        for (;;) {
            // A config barrier makes ovs-vswitchd run its main loop, which is where a vhost
            // device that became ready gets its queues polled; 3.1 on a loaded host has been
            // seen to sleep through that wake-up (as through cur_cfg, see waitCurCfg).
            await bumpAndWait(c, 10_000).catch(() => undefined);
            const rows = (await c.transact(VSWITCH_DB, [op.select('Interface', [ours(plan)], INTERFACE_COLUMNS)]))[0].rows ?? [];
            const up = new Set(rows.map(interfaceToPortStatus).filter((p) => p?.link === 'up').map((p) => p!.id));
            const down = portIds.filter((id) => !up.has(id));
            if (down.length === 0 || Date.now() > end) return;
            if (!said) onWait(`waiting for OvS to bring up ${down.join(', ')}`);
            said = true;
            await new Promise((r) => setTimeout(r, 1000));
        }
    });
}

/**
 * A Port's 802.1Q columns. A native VLAN is OvS's native-untagged mode
 * (its `tag` is the native VLAN) and is listed in `trunks` as well, so the
 * row reads as the file does; without settings the Port carries every VLAN.
 */
export function portVlan(v: VlanPlan | undefined): Row {
    if (!v) return {};
    if (v.mode === 'access') return { tag: v.tag, vlan_mode: 'access' };
    const trunks = [...new Set([...v.trunks, ...(v.native ? [v.native] : [])])].sort((a, b) => a - b);
    return v.native ? { tag: v.native, trunks: set(trunks), vlan_mode: 'native-untagged' } : { trunks: set(trunks), vlan_mode: 'trunk' };
}

/** Interface + Port rows, and the Port added to the bridge: one transaction's worth. */
function portOps(bridgeUuid: string, name: string, iface: Row, ext: Record<string, string>, tag: string, vlan?: VlanPlan): Operation[] {
    return [
        op.insert('Interface', { ...iface, name, external_ids: map(ext) }, `${tag}i`),
        op.insert('Port', { name, interfaces: namedUuid(`${tag}i`), external_ids: map(ext), ...portVlan(vlan) }, `${tag}p`),
        op.mutate('Bridge', [['_uuid', '==', uuid(bridgeUuid)]], [['ports', 'insert', set([namedUuid(`${tag}p`)])]]),
    ];
}

/**
 * Adds a port and waits for ovs-vswitchd; when it refuses the interface
 * (bad devargs, no memory for a pool) the port is removed again and the
 * Interface error becomes the user's message.
 */
async function addChecked(c: OvsdbClient, plan: Plan, kind: string, id: string, ops: Operation[]): Promise<void> {
    const results = await transactAndWait(c, ops);
    const ifUuid = results[0].uuid!;
    const row = (await c.transact(VSWITCH_DB, [op.select('Interface', [['_uuid', '==', ifUuid]], ['error', 'ofport'])]))[0].rows?.[0];
    const error = row ? optional<string>(row.error) : undefined;
    if (!error) return;
    await removePorts(c, plan, kind, id);
    throw new VtopoError(`OvS refused ${kind} ${id}: ${error}`,
        kind === 'nic' ? 'check the NIC driver and interface name in the topology' : `see ${ovsPaths(plan).vswitchdLog}`);
}

async function removePorts(c: OvsdbClient, plan: Plan, kind: string, id: string): Promise<void> {
    const ports = (await c.transact(VSWITCH_DB, [op.select('Port', [oursOf(plan, kind, id)], ['_uuid'])]))[0].rows ?? [];
    if (ports.length === 0) return;
    const ops: Operation[] = ports.map((p) => op.mutate('Bridge', [], [['ports', 'delete', p._uuid]]));
    await transactAndWait(c, ops);
}

async function findBridge(c: OvsdbClient, plan: Plan, name: string): Promise<string | undefined> {
    const rows = (await c.transact(VSWITCH_DB, [op.select('Bridge', [oursOf(plan, 'bridge', name)], ['_uuid'])]))[0].rows ?? [];
    return rows.length > 0 ? (rows[0]._uuid as [string, string])[1] : undefined;
}

async function requireBridge(c: OvsdbClient, plan: Plan, name: string): Promise<string> {
    const br = await findBridge(c, plan, name);
    if (!br) {
        throw new VtopoError(`bridge ${name} does not exist in OvS`, 'run `vtopo deploy` again: bridges are created before their ports');
    }
    return br;
}

async function findPort(c: OvsdbClient, plan: Plan, kind: string, id: string): Promise<boolean> {
    const rows = (await c.transact(VSWITCH_DB, [op.select('Port', [oursOf(plan, kind, id)], ['_uuid'])]))[0].rows ?? [];
    return rows.length > 0;
}

/** How the plan places rx queues on PMD threads (plans persisted before the field: by mode). */
export function rxqPlacement(plan: Plan): 'pinned' | 'scheduler' {
    const o = plan.datapaths.ovs;
    // Only our own single-host OvS pins; a fabric's OvS-DPDKs place queues themselves.
    return o?.rxqPlacement ?? (o?.mode === 'existing' || o?.mode === 'fabric' ? 'scheduler' : 'pinned');
}

/**
 * "queue:core,…" when the plan pins and every queue's core is a PMD core of
 * our own OvS. Pinning a queue to a core without a PMD would leave it
 * unpolled, so then we let OvS place it; on an OvS we do not own we never
 * pin (see OvsDatapathPlan.rxqPlacement).
 */
export function rxqAffinity(plan: Plan, queueCores: number[]): string | undefined {
    if (rxqPlacement(plan) !== 'pinned') return undefined;
    const pmd = pmdCores(plan);
    if (queueCores.length === 0 || pmd.size === 0 || !queueCores.every((c) => pmd.has(c))) return undefined;
    return queueCores.map((core, q) => `${q}:${core}`).join(',');
}

/** Sets (or removes) pmd-rxq-affinity on our existing port's Interface when it differs from `affinity`. */
async function syncAffinity(c: OvsdbClient, plan: Plan, id: string, affinity: string | undefined): Promise<void> {
    const rows = (await c.transact(VSWITCH_DB, [op.select('Interface', [oursOf(plan, 'vm-port', id)], ['_uuid', 'other_config'])]))[0].rows ?? [];
    const ops: Operation[] = [];
    for (const r of rows) {
        const now = toRecord(r.other_config)['pmd-rxq-affinity'];
        if (now === affinity) continue;
        const where: Condition[] = [['_uuid', '==', uuid((r._uuid as [string, string])[1])]];
        ops.push(op.mutate('Interface', where, [['other_config', 'delete', ['set', ['pmd-rxq-affinity']]]]));
        if (affinity) ops.push(op.mutate('Interface', where, [['other_config', 'insert', map({ 'pmd-rxq-affinity': affinity })]]));
    }
    if (ops.length) await transactAndWait(c, ops);
}

/** The cores OvS-DPDK's PMD threads poll on: its pmd-cpu-mask, else the host's poll-cores. */
export function pmdCores(plan: Plan): Set<number> {
    const mask = plan.datapaths.ovs?.pmdCpuMask;
    return mask ? maskCores(mask) : new Set(plan.host.pollCores);
}

function maskCores(mask: string): Set<number> {
    const bits = BigInt(mask.startsWith('0x') ? mask : `0x${mask}`);
    const out = new Set<number>();
    for (let i = 0; i < 256; i++) if ((bits >> BigInt(i)) & 1n) out.add(i);
    return out;
}

/** A NIC's Interface row (without name and marks): a DPDK port with one rx queue per NIC queue. */
export function nicInterface(nic: NicPlan): Row {
    return {
        type: 'dpdk',
        options: map({ 'dpdk-devargs': dpdkDevargs(nic), n_rxq: nic.queues }),
        mtu_request: nic.mtu,
    };
}

/** DPDK vdev names must be unique per process; the driver is matched by name prefix. */
export function dpdkDevargs(nic: NicPlan): string {
    const d = nic.driver;
    switch (d.kind) {
        case 'tap': return `net_tap_${nic.name},iface=${d.ifname}`;
        case 'af_packet': return `net_af_packet_${nic.name},iface=${d.iface},qpairs=${nic.queues}`;
        case 'pci': return d.address;
    }
}

async function serverSocketPath(c: OvsdbClient, plan: Plan, ifName: string): Promise<string> {
    const p = ovsPaths(plan);
    if (p.mode === 'private') return path.join(p.runDir, ifName);
    const root = (await c.transact(VSWITCH_DB, [op.select('Open_vSwitch', [], ['other_config'])]))[0].rows?.[0];
    const dir = root ? toRecord(root.other_config)['vhost-sock-dir'] : undefined;
    const base = '/var/run/openvswitch';
    return path.join(dir ? path.resolve(base, dir) : base, ifName);
}

function removeSymlink(p: string): void {
    try {
        if (lstatSync(p).isSymbolicLink()) rmSync(p, { force: true });
    } catch {
        /* absent */
    }
}

/** A private OvS lives in its own netns: an af_packet NIC must be visible there. */
async function moveIntoNetns(plan: Plan, iface: string): Promise<void> {
    const p = ovsPaths(plan);
    if (p.mode !== 'private') return;
    const inNs = await run('ip', ['-n', p.netns, 'link', 'show', iface]);
    if (inNs.code === 0) return;
    const r = await run('ip', ['link', 'set', iface, 'netns', p.netns]);
    if (r.code !== 0) {
        throw new VtopoError(`cannot hand interface ${iface} to the topology's OvS: ${r.stderr.trim()}`,
            `check that ${iface} exists (ip link show ${iface})`);
    }
    await run('ip', ['-n', p.netns, 'link', 'set', iface, 'up']);
}

async function moveOutOfNetns(plan: Plan, iface: string): Promise<void> {
    const p = ovsPaths(plan);
    if (p.mode !== 'private') return;
    // netns 1: the namespace of PID 1, i.e. the host's.
    await run('ip', ['-n', p.netns, 'link', 'set', iface, 'netns', '1']);
}

async function restoreMovedIfaces(plan: Plan): Promise<void> {
    for (const nic of plan.nics) {
        if (nic.datapath === 'ovs' && nic.driver.kind === 'af_packet') await moveOutOfNetns(plan, nic.driver.iface);
    }
}

/** net_tap creates its tap where ovs-vswitchd runs (our netns); the user expects it on the host. */
async function moveTapToHost(plan: Plan, ifname: string): Promise<void> {
    const p = ovsPaths(plan);
    if (p.mode !== 'private') return;
    const r = await run('ip', ['-n', p.netns, 'link', 'set', ifname, 'netns', '1']);
    if (r.code !== 0 && !existsSync(`/sys/class/net/${ifname}`)) {
        throw new VtopoError(`cannot move tap ${ifname} out of the OvS namespace: ${r.stderr.trim()}`, 'use driver af_packet with a veth instead');
    }
    await run('ip', ['link', 'set', ifname, 'up']);
}

/**
 * Once moved to the host, net_tap can no longer query its tap by name (its
 * ioctl socket stays in our netns) and reports the link down: read the
 * host's view instead.
 */
function hostTapLink(plan: Plan, port: PortStatus): void {
    const nic = plan.nics.find((n) => n.name === port.id && n.datapath === 'ovs');
    if (!nic || nic.driver.kind !== 'tap' || ovsPaths(plan).mode !== 'private') return;
    try {
        const flags = Number.parseInt(readFileSync(`/sys/class/net/${nic.driver.ifname}/flags`, 'utf8'), 16);
        const carrier = readFileSync(`/sys/class/net/${nic.driver.ifname}/carrier`, 'utf8').trim() === '1';
        port.link = (flags & 1) === 1 && carrier ? 'up' : 'down';
    } catch {
        port.link = 'down';
    }
}
