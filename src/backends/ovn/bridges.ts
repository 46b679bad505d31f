/**
 * The bridges and ports OVN needs on a host's OvS (br-phy, the integration
 * bridge, VIFs), over OVSDB. Ports we do not name (the tunnel ports
 * ovn-controller adds, the OvS backend's vhost-user ports) are left alone.
 */
import type { OvsdbClient } from '../ovs/ovsdb/client.js';
import { transactAndWait, VSWITCH_DB } from '../ovs/ovsdb/cfg.js';
import { map, namedUuid, op, set, toArray, uuid, uuidOf, type Condition, type Operation, type Row } from '../ovs/ovsdb/values.js';

export interface PortSpec {
    name: string;
    /** '' (system), internal, dpdkvhostuserclient, … */
    type: string;
    options?: Record<string, string>;
    externalIds?: Record<string, string>;
    mtuRequest?: number;
}

export interface BridgeSpec {
    name: string;
    otherConfig?: Record<string, string>;
    externalIds?: Record<string, string>;
    failMode?: 'secure' | 'standalone';
    ports: PortSpec[];
}

function interfaceRow(p: PortSpec): Row {
    const row: Row = { name: p.name, type: p.type, options: map(p.options ?? {}), external_ids: map(p.externalIds ?? {}) };
    if (p.mtuRequest) row.mtu_request = p.mtuRequest;
    return row;
}

/** Creates the bridge or brings its settings and the named ports in line; waits until ovs-vswitchd applied it. */
export async function ensureBridge(c: OvsdbClient, b: BridgeSpec): Promise<void> {
    const [br, ports, ifaces] = await c.transact(VSWITCH_DB, [
        op.select('Bridge', [['name', '==', b.name]], ['_uuid', 'ports']),
        op.select('Port', [], ['_uuid', 'name', 'interfaces']),
        op.select('Interface', [], ['_uuid', 'name']),
    ]);
    const bridgeRow: Row = {
        name: b.name,
        datapath_type: 'netdev',
        fail_mode: set(b.failMode ? [b.failMode] : []),
        other_config: map(b.otherConfig ?? {}),
        external_ids: map(b.externalIds ?? {}),
    };
    const existing = br.rows?.[0];
    const have = new Set(toArray(existing?.ports).map((u) => uuidOf(u)));
    const portByName = new Map((ports.rows ?? []).filter((r) => have.has(uuidOf(r._uuid))).map((r) => [r.name as string, r]));
    const ifaceUuid = new Map((ifaces.rows ?? []).map((r) => [r.name as string, uuidOf(r._uuid)!]));
    const ops: Operation[] = [];
    const newPorts = b.ports.filter((p) => !portByName.has(p.name));
    for (const p of b.ports) {
        if (portByName.has(p.name)) {
            const { name: _name, ...row } = interfaceRow(p);
            ops.push(op.update('Interface', [['_uuid', '==', uuid(ifaceUuid.get(p.name)!)]], row));
        }
    }
    newPorts.forEach((p, i) => {
        ops.push(op.insert('Interface', interfaceRow(p), `i${i}`));
        ops.push(op.insert('Port', { name: p.name, interfaces: namedUuid(`i${i}`) }, `p${i}`));
    });
    const portRefs = newPorts.map((_p, i) => namedUuid(`p${i}`));
    if (existing) {
        // Key by key: ovn-controller keeps its conntrack zones in br-int's external_ids.
        const where: Condition[] = [['_uuid', '==', existing._uuid]];
        ops.push(op.update('Bridge', where, { datapath_type: bridgeRow.datapath_type, fail_mode: bridgeRow.fail_mode }));
        for (const [col, kv] of [['other_config', b.otherConfig ?? {}], ['external_ids', b.externalIds ?? {}]] as const) {
            if (Object.keys(kv).length === 0) continue;
            ops.push(op.mutate('Bridge', where, [[col, 'delete', set(Object.keys(kv))]]));
            ops.push(op.mutate('Bridge', where, [[col, 'insert', map(kv)]]));
        }
        if (portRefs.length) ops.push(op.mutate('Bridge', [['_uuid', '==', existing._uuid]], [['ports', 'insert', set(portRefs)]]));
    } else {
        ops.push(op.insert('Bridge', { ...bridgeRow, ports: set(portRefs) }, 'br'));
        ops.push(op.mutate('Open_vSwitch', [], [['bridges', 'insert', set([namedUuid('br')])]]));
    }
    await transactAndWait(c, ops, 30_000);
}

/** Removes the named ports from whichever bridge holds them (their Interface rows go with them). */
export async function removePorts(c: OvsdbClient, names: string[]): Promise<void> {
    if (names.length === 0) return;
    const [bridges, ports] = await c.transact(VSWITCH_DB, [op.select('Bridge', [], ['_uuid', 'ports']), op.select('Port', [], ['_uuid', 'name'])]);
    const gone = new Set((ports.rows ?? []).filter((r) => names.includes(r.name as string)).map((r) => uuidOf(r._uuid)!));
    const ops: Operation[] = [];
    for (const b of bridges.rows ?? []) {
        const drop = toArray(b.ports).map((u) => uuidOf(u)!).filter((u) => gone.has(u));
        if (drop.length) ops.push(op.mutate('Bridge', [['_uuid', '==', b._uuid]], [['ports', 'delete', set(drop.map(uuid))]]));
    }
    if (ops.length) await transactAndWait(c, ops, 30_000);
}

/** Merges keys into Open_vSwitch.external_ids (replacing those keys only). */
export async function setRootExternalIds(c: OvsdbClient, ids: Record<string, string>): Promise<void> {
    await transactAndWait(c, [
        op.mutate('Open_vSwitch', [], [['external_ids', 'delete', set(Object.keys(ids))]]),
        op.mutate('Open_vSwitch', [], [['external_ids', 'insert', map(ids)]]),
    ], 30_000);
}
