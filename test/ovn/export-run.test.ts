/**
 * The fabric exports are scripts users run: the ovn-nbctl one, run twice
 * against a private OVN_Northbound, builds exactly the rows the OVN backend's
 * ensureNb writes from the same plan into a second fresh Northbound, and the
 * second run changes nothing; a host's ovs-vsctl one (--no-wait: no
 * ovs-vswitchd here) sets up that host's bridges, chassis settings and VIFs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chassisSettings } from '../../src/backends/ovn/hosts.js';
import { ensureNb } from '../../src/backends/ovn/nb.js';
import { NB_SCHEMA } from '../../src/backends/ovn/paths.js';
import type { FabricPlan, Plan } from '../../src/core/plan.js';
import { loadTopology } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { exportPlan } from '../../src/plan/export/index.js';
import { startOvsdb, type OvsdbFixture } from '../ovs/ovsdb-fixture.js';
import { takeHost } from '../../src/cli/options.js';
import { expectGolden } from '../golden.js';
import { runVtopo } from '../runtime/cli-run.js';
import { handFabricPlan } from '../support/fabric-plan.js';
import { runOk } from '../support/run.js';

const dir = mkdtempSync('/tmp/vtexp-ovn-');
const argv = () => ['qemu-system-x86_64'];
let byScript: OvsdbFixture | undefined;
let byBackend: OvsdbFixture | undefined;
let vswitch: OvsdbFixture | undefined;
let plan: Plan;
const extra: OvsdbFixture[] = [];

/** The plan stage's Plan of a file (runRoot /run/vtopo, as the export goldens). */
async function examplePlan(file: string): Promise<Plan> {
    const { model } = await loadTopology(file);
    return compilePlan(topologyOf(model, file), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: `/src/${path.basename(file)}`, onlineCpus: [0, 1] });
}

const nbctl = async (db: OvsdbFixture, ...args: string[]) => (await runOk('ovn-nbctl', [`--db=unix:${db.sock}`, ...args])).trim();
const vsctl = async (...args: string[]) => (await runOk('ovs-vsctl', ['--no-wait', `--db=unix:${vswitch!.sock}`, ...args])).trim();
/** ovs-vsctl get quotes a string only when it must. */
const unq = (s: string) => s.replace(/^"(.*)"$/, '$1');

async function runScript(text: string, env: Record<string, string>): Promise<void> {
    const f = path.join(dir, `script-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(f, text);
    await runOk('sh', [f], { env: { ...process.env, ...env } });
}

type Json = unknown;
/** ovn-nbctl's --data=json value: ["uuid", u], ["set", [...]], ["map", [[k, v]...]] or an atom. */
function decode(v: Json): Json {
    if (!Array.isArray(v)) return v;
    if (v[0] === 'uuid' || v[0] === 'named-uuid') return { uuid: v[1] as string };
    if (v[0] === 'set') return (v[1] as Json[]).map(decode);
    if (v[0] === 'map') return Object.fromEntries((v[1] as [string, Json][]).map(([k, x]) => [k, decode(x)]));
    return v;
}
const many = (v: Json): Json[] => (Array.isArray(v) ? v : [v]);
const uuidsOf = (v: Json) => many(v).map((x) => (x as { uuid: string }).uuid);

async function rows(db: OvsdbFixture, table: string): Promise<Record<string, Json>[]> {
    const out = JSON.parse(await nbctl(db, '--format=json', '--data=json', 'list', table)) as { headings: string[]; data: Json[][] };
    return out.data.map((r) => Object.fromEntries(out.headings.map((h, i) => [h, decode(r[i])])));
}

/** The logical topology in a Northbound, by name (UUIDs resolved), the columns vtopo writes. */
async function logical(db: OvsdbFixture) {
    const [ls, lsp, lr, lrp, routes] = await Promise.all(['Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'Logical_Router_Port', 'Logical_Router_Static_Route'].map((t) => rows(db, t)));
    const name = (table: Record<string, Json>[]) => (u: string) => table.find((r) => (r._uuid as { uuid: string }).uuid === u)!.name as string;
    const route = (u: string) => {
        const r = routes.find((x) => (x._uuid as { uuid: string }).uuid === u)!;
        return { prefix: r.ip_prefix, nexthop: r.nexthop, external_ids: r.external_ids };
    };
    const byName = <T extends { name: unknown }>(xs: T[]) => xs.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    return {
        switches: byName(ls.map((r) => ({ name: r.name, external_ids: r.external_ids, ports: uuidsOf(r.ports).map(name(lsp)).sort() }))),
        switchPorts: byName(lsp.map((r) => ({
            name: r.name, type: r.type, addresses: many(r.addresses).sort(), port_security: many(r.port_security).sort(), options: r.options, external_ids: r.external_ids,
        }))),
        routers: byName(lr.map((r) => ({
            name: r.name, external_ids: r.external_ids, ports: uuidsOf(r.ports).map(name(lrp)).sort(),
            routes: uuidsOf(r.static_routes).map(route).sort((a, b) => String(a.prefix).localeCompare(String(b.prefix))),
        }))),
        routerPorts: byName(lrp.map((r) => ({ name: r.name, mac: r.mac, networks: many(r.networks).sort(), external_ids: r.external_ids }))),
        routeCount: routes.length,
    };
}

async function allUuids(db: OvsdbFixture): Promise<string[]> {
    const tables = ['Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'Logical_Router_Port', 'Logical_Router_Static_Route'];
    return (await Promise.all(tables.map((t) => nbctl(db, '--bare', '--columns=_uuid', 'list', t)))).join('\n').split(/\s+/).filter(Boolean).sort();
}

beforeAll(async () => {
    plan = await handFabricPlan();
    byScript = await startOvsdb(NB_SCHEMA);
    byBackend = await startOvsdb(NB_SCHEMA);
    vswitch = await startOvsdb();
    await nbctl(byScript, 'init');
    await nbctl(byBackend, 'init');
    await vsctl('init');
}, 60_000);

afterAll(async () => {
    // Each fixture kills its own ovsdb-server by pid.
    for (const db of [byScript, byBackend, vswitch, ...extra]) await db?.stop();
    rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs p's ovn-nbctl script twice into `a` (the second run must keep every row, UUIDs and all) and ensureNb
 * with the same plan into `b`; returns both logical topologies.
 */
async function scriptAndBackend(p: Plan, a: OvsdbFixture, b: OvsdbFixture) {
    const script = exportPlan(p, 'ovn-nbctl', { argv });
    const env = { NBCTL: `ovn-nbctl --db=unix:${a.sock}` };
    await runScript(script, env);
    const first = await logical(a);
    const uuids = await allUuids(a);
    await runScript(script, env);
    expect(await allUuids(a)).toEqual(uuids);
    expect(await logical(a)).toEqual(first);
    const f: FabricPlan = {
        ...p.fabric!,
        central: { kind: 'private', host: p.fabric!.hosts[0].name, dir: b.dir, nbSocket: b.sock, sbSocket: path.join(b.dir, 'none.sock'), sbRemote: 'tcp:172.31.0.1:6642' },
    };
    await ensureNb(p.topology, f, { wait: false });
    return { script: first, backend: await logical(b) };
}

describe('ovn-nbctl export, run for real', () => {
    it('builds the logical topology ensureNb builds from the same plan, and a second run changes nothing', async () => {
        const { script: first, backend } = await scriptAndBackend(plan, byScript!, byBackend!);
        expect(first).toEqual(backend);
        expect(first.switchPorts).toHaveLength(5);
        expect(first.routerPorts).toHaveLength(2);
        expect(first.routeCount).toBe(2);
        expect(first.routers[0].routes.every((r) => (r.external_ids as Record<string, string>)['vtopo-topology'] === 'xh')).toBe(true);

        // What ovn-nbctl itself reports.
        expect((await nbctl(byScript!, 'ls-list')).split('\n').map((l) => l.replace(/^\S+ \((.*)\)$/, '$1')).sort()).toEqual(['db', 'web']);
        expect((await nbctl(byScript!, 'lsp-list', 'web')).split('\n').map((l) => l.replace(/^\S+ \((.*)\)$/, '$1')).sort()).toEqual(['a.eth0', 'c.eth0', 'web-edge']);
        const a = plan.fabric!.switches.find((s) => s.name === 'web')!.ports.find((p) => p.name === 'a.eth0')!;
        expect(await nbctl(byScript!, 'lsp-get-addresses', 'a.eth0')).toBe(a.addresses);
        expect(await nbctl(byScript!, 'lsp-get-port-security', 'a.eth0')).toBe(a.addresses);
        expect(await nbctl(byScript!, 'lsp-get-type', 'db-edge')).toBe('router');
        expect(await nbctl(byScript!, 'lsp-get-options', 'db-edge')).toBe('router-port=edge-db');
        expect(await nbctl(byScript!, 'get', 'Logical_Switch', 'web', 'external_ids:vtopo-mtu')).toBe('"1400"');
        const lrps = await nbctl(byScript!, 'lrp-list', 'edge');
        expect(lrps).toContain('(edge-web)');
        expect(lrps).toContain('(edge-db)');
        const routes = await nbctl(byScript!, 'lr-route-list', 'edge');
        expect(routes).toMatch(/0\.0\.0\.0\/0\s+10\.0\.2\.1/);
        expect(routes).toMatch(/192\.168\.0\.0\/16\s+10\.0\.1\.1/);
    }, 120_000);

    it('does the same for the plan stage\'s plan of examples/multi-host.vtopo', async () => {
        const [a, b] = [await startOvsdb(NB_SCHEMA), await startOvsdb(NB_SCHEMA)];
        extra.push(a, b);
        await nbctl(a, 'init');
        await nbctl(b, 'init');
        const { script, backend } = await scriptAndBackend(await examplePlan('examples/multi-host.vtopo'), a, b);
        expect(script).toEqual(backend);
        expect(script.switches.map((s) => [s.name, s.ports])).toEqual([['db', ['c.eth0', 'db-edge']], ['web', ['a.eth0', 'b.eth0', 'web-edge']]]);
        expect(script.routers.map((r) => [r.name, r.ports])).toEqual([['edge', ['edge-db', 'edge-web']]]);
    }, 120_000);
});

describe('ovs-vsctl --host export, run for real', () => {
    it('creates br-int (secure, netdev), br-phy, the chassis settings and the host\'s VIFs; a second run adds nothing', async () => {
        const h2 = plan.fabric!.hosts.find((h) => h.name === 'h2')!;
        const script = exportPlan(plan, 'ovs-vsctl', { argv, host: 'h2' });
        const env = { VSCTL: `ovs-vsctl --no-wait --db=unix:${vswitch!.sock}` };
        await runScript(script, env);
        const ifaces = await vsctl('--bare', '--columns=_uuid', 'list', 'Interface');
        await runScript(script, env);
        expect(await vsctl('--bare', '--columns=_uuid', 'list', 'Interface')).toBe(ifaces);

        expect((await vsctl('list-br')).split('\n').sort()).toEqual(['br-int', 'br-phy']);
        expect(await vsctl('get', 'Bridge', 'br-int', 'fail_mode')).toBe('secure');
        expect(await vsctl('get', 'Bridge', 'br-int', 'datapath_type')).toBe('netdev');
        expect(await vsctl('get', 'Bridge', 'br-phy', 'datapath_type')).toBe('netdev');
        expect(await vsctl('get', 'Interface', 'br-phy', 'mtu_request')).toBe('1600');
        const root = JSON.parse(await vsctl('--format=json', '--data=json', '--columns=external_ids', 'list', 'Open_vSwitch')) as { data: Json[][] };
        expect(decode(root.data[0][0])).toEqual(chassisSettings(plan.fabric!, h2));
        // Only the VMs of h2 (a), each a VIF of its logical switch port.
        expect((await vsctl('list-ports', 'br-int')).split('\n')).toEqual(['a.eth0']);
        const ifaceId = unq(await vsctl('get', 'Interface', 'a.eth0', 'external_ids:iface-id'));
        expect(ifaceId).toBe('a.eth0');
        expect(plan.fabric!.switches.flatMap((s) => s.ports).find((p) => p.name === ifaceId)?.host).toBe('h2');
        expect(await vsctl('get', 'Interface', 'a.eth0', 'type')).toBe('dpdkvhostuserclient');
        expect(unq(await vsctl('get', 'Interface', 'a.eth0', 'options:vhost-server-path'))).toBe(plan.vms.find((v) => v.name === 'a')!.ports[0].socketPath);
        expect(unq(await vsctl('get', 'Open_vSwitch', '.', 'other_config:dpdk-init'))).toBe('true');

        // An existing OVN whose Southbound the file leaves out: the script stops before any change until told.
        const external = { ...plan, fabric: { ...plan.fabric!, central: { kind: 'external' as const, nb: 'tcp:192.0.2.10:6641' } } };
        const ext = exportPlan(external, 'ovs-vsctl', { argv, host: 'h2' });
        await expect(runScript(ext, env)).rejects.toThrow(/VTOPO_OVN_REMOTE: set it to the Southbound of the existing OVN/);
        expect(unq(await vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-remote'))).toBe('tcp:172.31.0.1:6642');
        await runScript(ext, { ...env, VTOPO_OVN_REMOTE: 'tcp:192.0.2.10:6642' });
        expect(unq(await vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-remote'))).toBe('tcp:192.0.2.10:6642');
    }, 60_000);
});

describe('vtopo export --host, from the command line', () => {
    it('writes examples/multi-host.vtopo\'s ovn-nbctl and per-host ovs-vsctl scripts as their golden files say', async () => {
        for (const args of [['--format', 'ovn-nbctl'], ['--format', 'ovs-vsctl', '--host', 'h1'], ['--format=ovs-vsctl', '--host=h2'], ['--host', 'h3', '--format', 'ovs-vsctl']]) {
            const r = await runVtopo('/run/vtopo', ['export', 'examples/multi-host.vtopo', ...args]);
            expect(r.code, r.stderr).toBe(0);
            const host = args.join(' ').match(/--host[ =](h\d)/)?.[1];
            expectGolden(path.join('test/plan/golden/export', `multi-host.${host ? `${host}.` : ''}${args.join(' ').includes('ovn-nbctl') ? 'ovn-nbctl' : 'ovs-vsctl'}.sh`), r.stdout);
        }
        const r = await runVtopo('/run/vtopo', ['export', 'examples/multi-host.vtopo', '--format', 'ovs-vsctl']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe('vtopo: topology campus spans hosts h1, h2, h3: its ovs-vsctl export is one host\'s part\n  fix: pick one with --host (h1, h2, h3)\n');
    }, 120_000);


    it('takes --host NAME and --host=NAME out of the arguments, once', () => {
        expect(takeHost(['f.vtopo', '--host', 'h2', '--format', 'qemu'])).toEqual({ rest: ['f.vtopo', '--format', 'qemu'], host: 'h2' });
        expect(takeHost(['--host=h3', 'f.vtopo', '--host', 'h3'])).toEqual({ rest: ['f.vtopo'], host: 'h3' });
        expect(takeHost(['f.vtopo'])).toEqual({ rest: ['f.vtopo'] });
        expect(takeHost(['f.vtopo', '--host', '--json']).error).toMatch(/needs the name of a host/);
        expect(takeHost(['--host=']).error).toMatch(/needs the name of a host/);
        expect(takeHost(['--host', 'h1', '--host=h2']).error).toBe('--host given twice (h1, h2): name one host');
    });

    it('refuses what does not apply with the cause and the fix, and a --host without a name with the usage', async () => {
        const run = (...args: string[]) => runVtopo(path.join(dir, 'run'), ['export', 'examples/two-vms.vtopo', ...args]);
        const nb = await run('--format', 'ovn-nbctl');
        expect(nb.code).toBe(1);
        expect(nb.stderr).toMatch(/vtopo: topology two_vms has no fabric: the ovn-nbctl export is the logical topology OVN carries across hosts\n {2}fix: declare the hosts/);
        const host = await run('--format', 'ovs-vsctl', '--host=h2');
        expect(host.code).toBe(1);
        expect(host.stderr).toContain('--host h2 picks a host of a topology across hosts');
        expect(host.stderr).toContain('fix: leave out --host');
        const bare = await run('--format', 'ovs-vsctl', '--host');
        expect(bare.code).toBe(2);
        expect(bare.stderr).toContain('--host needs the name of a host');
        expect(bare.stderr).toContain('[--host NAME]');
        const help = await run('--help');
        expect(help.stdout).toMatch(/ovn-nbctl\s+a shell script creating the logical switches/);
    }, 60_000);
});
