/**
 * The logical topology in OVN_Northbound, over our own OVSDB client: one
 * transaction makes the rows this topology marked as its own
 * (external_ids:vtopo-topology) equal the plan, and leaves every other row
 * alone, so an existing OVN shared with others is safe. Then it waits the way
 * `ovn-nbctl --wait=hv` does: NB_Global.nb_cfg bumped in that transaction,
 * until hv_cfg (the slowest chassis, as northd reports it) reaches it.
 */
import type { FabricPlan, LogicalRouterPlan, LogicalSwitchPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { centralHere, L3_KEY, l3KeyOf, routerSwitchPort } from '../../core/fabric.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { map, namedUuid, op, set, toArray, toRecord, uuid, uuidOf, type Atom, type Operation, type Row, type Value } from '../ovs/ovsdb/values.js';
import { centralState } from './central.js';
import { NB_DB, SB_DB, TOPOLOGY_KEY } from './paths.js';

const HV_TIMEOUT_MS = 30_000;
const NUDGE_MS = 3000;

/** The NB target of the plan: the private central's socket or the existing OVN's remote. */
export function nbTarget(f: FabricPlan): string {
    return f.central.kind === 'private' ? `unix:${f.central.nbSocket}` : f.central.nb;
}

/** The SB target, when we know one (an existing OVN may not say). */
export function sbTarget(f: FabricPlan): string | undefined {
    if (f.central.kind === 'external') return f.central.sb;
    // Off the central host (`--host`), the SB is where the chassis reach it: over the underlay.
    return centralHere(f) ? `unix:${f.central.sbSocket}` : f.central.sbRemote;
}

export async function connectNb(f: FabricPlan, timeoutMs = 5000): Promise<OvsdbClient> {
    const target = nbTarget(f);
    try {
        return await OvsdbClient.connect(target, { connectTimeoutMs: timeoutMs });
    } catch (e) {
        throw new VtopoError(`cannot reach OVN_Northbound at ${target}: ${(e as Error).message}`,
            f.central.kind === 'private' ? 'run `vtopo deploy` again to restart the private OVN central' : 'check that the existing OVN\'s NB ovsdb-server runs and listens there');
    }
}

interface NbRow { uuid: string; row: Row }

/** Our rows of each table, and every row's name (names of others' rows too: for clashes). */
interface NbState {
    switches: NbRow[];
    switchPorts: NbRow[];
    routers: NbRow[];
    routerPorts: NbRow[];
    routes: NbRow[];
    foreignNames: Map<string, Set<string>>;
}

const TABLES = ['Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'Logical_Router_Port', 'Logical_Router_Static_Route'] as const;

async function readState(c: OvsdbClient, topology: string): Promise<NbState> {
    const results = await c.transact(NB_DB, TABLES.map((t) => op.select(t, [])));
    const ours = (i: number) => (results[i].rows ?? []).filter((r) => toRecord(r.external_ids)[TOPOLOGY_KEY] === topology)
        .map((r) => ({ uuid: uuidOf(r._uuid)!, row: r }));
    const foreignNames = new Map<string, Set<string>>();
    TABLES.forEach((t, i) => foreignNames.set(t, new Set((results[i].rows ?? [])
        .filter((r) => toRecord(r.external_ids)[TOPOLOGY_KEY] !== topology && typeof r.name === 'string')
        .map((r) => r.name as string))));
    return { switches: ours(0), switchPorts: ours(1), routers: ours(2), routerPorts: ours(3), routes: ours(4), foreignNames };
}

interface Builder {
    ops: Operation[];
    next: number;
}

function ref(existing: string | undefined, b: Builder, insert: (name: string) => Operation, update: (u: string) => Operation): Atom {
    if (existing) {
        b.ops.push(update(existing));
        return uuid(existing);
    }
    const name = `row${b.next++}`;
    b.ops.push(insert(name));
    return namedUuid(name);
}

function upsert(table: string, existing: string | undefined, row: Row, b: Builder): Atom {
    return ref(existing, b, (n) => op.insert(table, row, n), (u) => op.update(table, [['_uuid', '==', uuid(u)]], row));
}

const byName = (rows: NbRow[]) => new Map(rows.map((r) => [r.row.name as string, r.uuid]));

/** The operations that make our NB rows equal the plan (without the nb_cfg bump). */
export function planOps(topology: string, f: FabricPlan, s: NbState): Operation[] {
    const ids = map({ [TOPOLOGY_KEY]: topology });
    const b: Builder = { ops: [], next: 0 };
    checkClashes(f, s);
    const lsps = byName(s.switchPorts);
    const lrps = byName(s.routerPorts);
    const switches = byName(s.switches);
    const routers = byName(s.routers);
    const routerPortsBySwitch = (sw: LogicalSwitchPlan) => f.routers.flatMap((r) => r.ports.filter((p) => p.switch === sw.name).map((p) => ({ r, p })));

    for (const sw of f.switches) {
        const ports: Atom[] = sw.ports.map((p) => upsert('Logical_Switch_Port', lsps.get(p.name), {
            name: p.name,
            addresses: set([p.addresses]),
            port_security: set([p.addresses]),
            type: '',
            options: map({}),
            external_ids: map({ [TOPOLOGY_KEY]: topology, 'vtopo-vm': p.vm, 'vtopo-host': p.host }),
        }, b));
        for (const { r, p } of routerPortsBySwitch(sw)) {
            const name = routerSwitchPort(r.name, p);
            ports.push(upsert('Logical_Switch_Port', lsps.get(name), {
                name,
                addresses: set(['router']),
                port_security: set([]),
                type: 'router',
                options: map({ 'router-port': p.name }),
                external_ids: ids,
            }, b));
        }
        upsert('Logical_Switch', switches.get(sw.name), {
            name: sw.name,
            ports: set(ports),
            // OVN has no MTU per switch: recorded for exports and status.
            external_ids: map({ [TOPOLOGY_KEY]: topology, 'vtopo-mtu': String(sw.mtu), [L3_KEY]: l3KeyOf(f, sw.name) }),
        }, b);
    }
    for (const r of f.routers) routerOps(r, lrps.get.bind(lrps), routers.get(r.name), s, ids, b);

    const keep = new Set([...f.switches.map((x) => x.name)]);
    for (const sw of s.switches) if (!keep.has(sw.row.name as string)) b.ops.push(op.delete('Logical_Switch', [['_uuid', '==', uuid(sw.uuid)]]));
    const keepR = new Set(f.routers.map((r) => r.name));
    for (const r of s.routers) if (!keepR.has(r.row.name as string)) b.ops.push(op.delete('Logical_Router', [['_uuid', '==', uuid(r.uuid)]]));
    return b.ops;
}

function routerOps(r: LogicalRouterPlan, lrpUuid: (n: string) => string | undefined, existing: string | undefined, s: NbState, ids: Value, b: Builder): void {
    const ports = r.ports.map((p) => upsert('Logical_Router_Port', lrpUuid(p.name), {
        name: p.name, mac: p.mac, networks: set([p.network]), external_ids: ids,
    }, b));
    const old = existing ? s.routes.filter((x) => toArray(s.routers.find((y) => y.uuid === existing)!.row.static_routes).some((u) => uuidOf(u) === x.uuid)) : [];
    const routes = r.routes.map((rt) => {
        const same = old.find((o) => o.row.ip_prefix === rt.prefix && o.row.nexthop === rt.nexthop);
        if (same) return uuid(same.uuid);
        const n = `row${b.next++}`;
        b.ops.push(op.insert('Logical_Router_Static_Route', { ip_prefix: rt.prefix, nexthop: rt.nexthop, external_ids: ids }, n));
        return namedUuid(n);
    });
    upsert('Logical_Router', existing, { name: r.name, ports: set(ports), static_routes: set(routes), external_ids: ids }, b);
}

/** Names the NB indexes (or `ovn-nbctl`'s by-name lookups) would see twice. */
function checkClashes(f: FabricPlan, s: NbState): void {
    const clash = (table: string, name: string, what: string) => {
        if (s.foreignNames.get(table)?.has(name)) {
            throw new VtopoError(`OVN_Northbound already has a ${what} named ${name} that is not this topology's`,
                `rename the ${what.split(' ').pop()} in the topology, or remove the other one from the existing OVN`);
        }
    };
    for (const sw of f.switches) {
        clash('Logical_Switch', sw.name, 'logical switch for bridge');
        for (const p of sw.ports) clash('Logical_Switch_Port', p.name, 'logical switch port for port');
    }
    for (const r of f.routers) {
        clash('Logical_Router', r.name, 'logical router for router');
        for (const p of r.ports) {
            clash('Logical_Router_Port', p.name, 'logical router port for router');
            clash('Logical_Switch_Port', routerSwitchPort(r.name, p), 'logical switch port for router');
        }
    }
}

/**
 * Makes NB equal the plan (our rows only) and, unless `wait` is false, waits
 * until every chassis applied it. Returns the nb_cfg it waited for.
 */
export async function ensureNb(topology: string, f: FabricPlan, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<number> {
    const c = await connectNb(f);
    try {
        const s = await readState(c, topology);
        const ops = planOps(topology, f, s);
        const results = await c.transact(NB_DB, [...ops,
            op.mutate('NB_Global', [], [['nb_cfg', '+=', 1]]),
            op.select('NB_Global', [], ['nb_cfg'])]);
        const rows = results[results.length - 1].rows ?? [];
        if (rows.length === 0) throw new VtopoError('OVN_Northbound has no NB_Global row', 'run `ovn-nbctl init` against that database');
        const want = Number(rows[0].nb_cfg);
        if (opts.wait !== false) await waitHv(c, f, want, opts.timeoutMs ?? HV_TIMEOUT_MS);
        return want;
    } finally {
        c.close();
    }
}

/** Removes every NB row of this topology (switches take their ports, routers their ports and routes). */
export async function removeNb(topology: string, f: FabricPlan): Promise<void> {
    const c = await connectNb(f);
    try {
        const s = await readState(c, topology);
        const ops = [...s.switches.map((x) => op.delete('Logical_Switch', [['_uuid', '==', uuid(x.uuid)]])),
            ...s.routers.map((x) => op.delete('Logical_Router', [['_uuid', '==', uuid(x.uuid)]]))];
        if (ops.length) await c.transact(NB_DB, ops);
    } finally {
        c.close();
    }
}

/** `ovn-nbctl --wait=hv`: hv_cfg reaches `want`; on timeout, names the chassis that are behind. */
export async function waitHv(c: OvsdbClient, f: FabricPlan, want: number, timeoutMs: number): Promise<void> {
    let have = -1;
    let wake: () => void = () => undefined;
    const m = await c.monitor(NB_DB, { NB_Global: { columns: ['hv_cfg'] } }, (changes) => {
        for (const ch of changes) if (ch.row) have = Number(ch.row.hv_cfg);
        if (have >= want) wake();
    });
    try {
        for (const r of m.rows('NB_Global')) have = Number(r.hv_cfg);
        if (have >= want) return;
        let timer: NodeJS.Timeout | undefined;
        // Once in our runs (1 of ~10, not reproduced since) every chassis reported nb_cfg 1 in the SB
        // but ovn-northd left hv_cfg at 0 for 30 s. Another bump is a new NB change: northd
        // recomputes and writes hv_cfg, which then passes `want` too.
        const nudger = setInterval(() => {
            void c.transact(NB_DB, [op.mutate('NB_Global', [], [['nb_cfg', '+=', 1]])]).catch(() => undefined);
        }, NUDGE_MS);
        const ok = await new Promise<boolean>((resolve) => {
            wake = () => resolve(true);
            timer = setTimeout(() => resolve(false), timeoutMs);
        });
        if (timer) clearTimeout(timer);
        clearInterval(nudger);
        if (ok) return;
        const behind = await chassisBehind(f, want);
        throw new VtopoError(`OVN did not apply NB configuration ${want} on every chassis within ${timeoutMs} ms (hv_cfg ${have}): ${behind}`,
            'check the named chassis\' ovn-controller (`vtopo status` shows it; its log is in the host\'s OvS run directory), and that ovn-northd runs');
    } finally {
        await m.cancel();
    }
}

async function chassisBehind(f: FabricPlan, want: number): Promise<string> {
    const target = sbTarget(f);
    if (!target) return 'the Southbound is unknown, so the chassis behind cannot be named';
    let c: OvsdbClient | undefined;
    try {
        c = await OvsdbClient.connect(target, { connectTimeoutMs: 3000 });
        const rows = (await c.transact(SB_DB, [op.select('Chassis_Private', [], ['name', 'nb_cfg'])]))[0].rows ?? [];
        const seen = new Map(rows.map((r) => [r.name as string, Number(r.nb_cfg)]));
        const parts = rows.filter((r) => Number(r.nb_cfg) < want).map((r) => `chassis ${r.name} is at ${r.nb_cfg}`);
        for (const h of f.hosts) if (!seen.has(h.chassis)) parts.push(`chassis ${h.chassis} (host ${h.name}) is not registered`);
        const northd = centralState(f);
        const state = f.central.kind === 'private' ? (northd.northdPid ? ` (ovn-northd runs, pid ${northd.northdPid})` : ' (ovn-northd is not running)') : '';
        return parts.length ? parts.join('; ') : `every chassis reports it, but ovn-northd has not copied it to hv_cfg${state}`;
    } catch (e) {
        return `the Southbound at ${target} cannot be read (${(e as Error).message})`;
    } finally {
        c?.close();
    }
}
