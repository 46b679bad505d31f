/**
 * The fabric's live state as plain data: per host whether its chassis is in
 * the SB, whether its ovn-controller runs, and the tunnels ovn-controller
 * made on its OvS; per logical port `up` from NB and the chassis its SB
 * Port_Binding names. Each source that cannot be read leaves its fields out
 * (or says so in `error`) instead of failing the whole status.
 */
import type { FabricHostPlan, FabricPlan } from '../../core/plan.js';
import type { FabricHostStatus, FabricPortStatus, FabricStatus, FabricTunnelStatus } from '../../core/status.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { op, optional, toRecord, uuidOf, type Row } from '../ovs/ovsdb/values.js';
import { centralState } from './central.js';
import { controllerPid } from './hosts.js';
import { nbTarget, sbTarget } from './nb.js';
import { addressOf, NB_DB, SB_DB } from './paths.js';
import { reachable } from './remote.js';
import { hostsHere, hostsOverSsh, writesNorthbound } from '../../core/fabric.js';

const TUNNEL_TYPES = new Set(['geneve', 'vxlan', 'stt']);

async function select(target: string | undefined, db: string, table: string, columns: string[]): Promise<Row[] | undefined> {
    if (!target) return undefined;
    let c: OvsdbClient | undefined;
    try {
        c = await OvsdbClient.connect(target, { connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
        return (await c.transact(db, [op.select(table, [], columns)]))[0].rows ?? [];
    } catch {
        return undefined;
    } finally {
        c?.close();
    }
}

export async function fabricStatus(f: FabricPlan): Promise<FabricStatus> {
    // Off the central (`--host`) the Northbound is out of reach; the SB's Port_Binding.up says the same.
    const nb = writesNorthbound(f) ? nbTarget(f) : undefined;
    const [chassisRows, bindings, nbPorts] = await Promise.all([
        select(sbTarget(f), SB_DB, 'Chassis', ['_uuid', 'name']),
        select(sbTarget(f), SB_DB, 'Port_Binding', ['logical_port', 'chassis', 'up']),
        select(nb, NB_DB, 'Logical_Switch_Port', ['name', 'up']),
    ]);
    const lsps = nb ? nbPorts : bindings?.map((r) => ({ name: r.logical_port, up: r.up }));
    const chassisName = new Map((chassisRows ?? []).map((r) => [uuidOf(r._uuid)!, r.name as string]));
    const registered = chassisRows ? new Set(chassisName.values()) : undefined;
    const hosts = await Promise.all(f.hosts.map((h) => hostStatus(f, h, registered)));
    const upByName = new Map((lsps ?? []).map((r) => [r.name as string, optional<boolean>(r.up) === true]));
    const boundTo = new Map((bindings ?? []).map((r) => [r.logical_port as string, chassisName.get(uuidOf(optional(r.chassis)) ?? '')]));
    const ports: FabricPortStatus[] = f.switches.flatMap((sw) => sw.ports.map((p) => {
        const chassis = boundTo.get(p.name);
        const planned = f.hosts.find((h) => h.name === p.host)?.chassis;
        const s: FabricPortStatus = { name: p.name, switch: sw.name, vm: p.vm, host: p.host, up: upByName.get(p.name) ?? false };
        if (chassis) s.chassis = chassis;
        if (bindings) s.on_planned_chassis = !!chassis && chassis === planned;
        return s;
    }));
    const cs = centralState(f);
    const central: FabricStatus['central'] = f.central.kind === 'private' && !nb
        ? { kind: 'private', host: f.central.host, nb: false, sb: !!chassisRows }
        : f.central.kind === 'private'
        ? { kind: 'private', nb: !!lsps && !!cs.nbPid, sb: !!chassisRows && !!cs.sbPid, northd: !!cs.northdPid }
        : { kind: 'external', nb: !!lsps, ...(f.central.sb ? { sb: !!chassisRows } : {}) };
    return { central, hosts, ports };
}

async function hostStatus(f: FabricPlan, h: FabricHostPlan, registered: Set<string> | undefined): Promise<FabricHostStatus> {
    if (!hostsHere(f).some((x) => x.name === h.name)) {
        const s: FabricHostStatus = { name: h.name, chassis: h.chassis, controller: 'remote', ovs: false, tunnels: [] };
        if (registered) s.chassis_registered = registered.has(h.chassis);
        if (hostsOverSsh(f).some((x) => x.name === h.name)) {
            const r = await reachable(h);
            s.reachable = r.ok;
            if (!r.ok) s.error = `not reachable over ssh (${h.ssh}): ${r.error}`;
        }
        return s;
    }
    const pid = controllerPid(h);
    const s: FabricHostStatus = { name: h.name, chassis: h.chassis, controller: pid ? 'running' : 'stopped', ovs: false, tunnels: [] };
    if (pid) s.controller_pid = pid;
    if (registered) s.chassis_registered = registered.has(h.chassis);
    const ifaces = await select(h.ovs.dbSocket, 'Open_vSwitch', 'Interface', ['name', 'type', 'options', 'bfd_status', 'link_state']);
    if (!ifaces) {
        s.error = `its OvS database ${h.ovs.dbSocket} does not answer`;
        return s;
    }
    s.ovs = true;
    const peerByIp = new Map(f.hosts.map((x) => [addressOf(x.underlay), x.name]));
    s.tunnels = ifaces.filter((r) => TUNNEL_TYPES.has(r.type as string)).map((r) => {
        const remote = toRecord(r.options).remote_ip ?? '';
        const link = optional<string>(r.link_state);
        const t: FabricTunnelStatus = { port: r.name as string, type: r.type as string, remote_ip: remote, link: link === 'up' || link === 'down' ? link : 'unknown' };
        const peer = peerByIp.get(remote);
        if (peer) t.peer = peer;
        const bfd = toRecord(r.bfd_status).state;
        if (bfd) t.bfd = bfd;
        return t;
    }).sort((a, b) => a.port.localeCompare(b.port));
    return s;
}
