/**
 * The runtime's side of a Plan across hosts, without OVN: the registry
 * routes a fabric plan to the fabric datapath and every other plan to the
 * single-host OvS backend; verify's pairs (switched and routed); the guest
 * command line's gateway; status keeps what a partly-down fabric tells and
 * prints hosts, chassis, tunnels and bindings.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { byOvsMode } from '../../src/backends/registry.js';
import { hostsHere, hostsOverSsh } from '../../src/core/fabric.js';
import type { DatapathBackend, DatapathSnapshot } from '../../src/backends/types.js';
import { guestCmdline } from '../../src/backends/qemu/boot.js';
import { fabricWarnings } from '../../src/backends/ovn/datapath.js';
import type { FabricStatus } from '../../src/core/status.js';
import { collectStatus } from '../../src/runtime/monitor.js';
import { formatStatus } from '../../src/runtime/format.js';
import { pingTargets } from '../../src/runtime/segments.js';
import type { RuntimeDeps } from '../../src/runtime/deps.js';
import { router, testFabric, testFabricPlan } from '../support/fabric-plan.js';

const tf = testFabric('ur', 3, 79);
const plan = testFabricPlan(tf, [
    ['a', 'h1', 'web', '10.0.1.1/24', '10.0.1.254'],
    ['b', 'h2', 'web', '10.0.1.2/24', '10.0.1.254'],
    ['c', 'h3', 'db', '10.0.2.1/24', '10.0.2.254'],
    ['d', 'h3', 'db', '10.0.2.2/24'],
], [router('edge', [['web', '0a:00:00:00:01:00', '10.0.1.254/24'], ['db', '0a:00:00:00:01:01', '10.0.2.254/24']])]);

afterAll(() => rmSync(tf.dir, { recursive: true, force: true }));

function recorder(tag: string, calls: string[]): DatapathBackend {
    const rec = (what: string) => async () => { calls.push(`${tag} ${what}`); return undefined as never; };
    return {
        kind: 'ovs', running: async () => { calls.push(`${tag} running`); return true; }, start: rec('start'), stop: rec('stop'),
        inventory: rec('inventory'), addBridge: rec('add-bridge'), removeBridge: rec('remove-bridge'), addLink: rec('add-link'),
        removeLink: rec('remove-link'), addVmPort: rec('add-port'), removeVmPort: rec('remove-port'), addNic: rec('add-nic'),
        removeNic: rec('remove-nic'), setImpair: rec('set-impair'), snapshot: rec('snapshot'),
    };
}

const FABRIC: FabricStatus = {
    central: { kind: 'private', nb: true, sb: true, northd: true },
    hosts: [
        { name: 'h1', chassis: 'ovnur-h1', chassis_registered: true, controller: 'running', controller_pid: 11, ovs: true, tunnels: [{ port: 'ovn-h2-0', type: 'geneve', remote_ip: '172.31.79.2', peer: 'h2', link: 'up' }] },
        { name: 'h2', chassis: 'ovnur-h2', chassis_registered: false, controller: 'stopped', ovs: true, tunnels: [] },
    ],
    ports: [
        { name: 'a.eth0', switch: 'web', vm: 'a', host: 'h1', up: true, chassis: 'ovnur-h1', on_planned_chassis: true },
        { name: 'b.eth0', switch: 'web', vm: 'b', host: 'h2', up: false, on_planned_chassis: false },
    ],
};

describe('a fabric plan in the runtime', () => {
    it('the ovs backend serves a fabric plan with the fabric datapath, any other plan with the single-host one', async () => {
        const calls: string[] = [];
        const be = byOvsMode(recorder('single', calls), recorder('fabric', calls));
        const single = { ...plan, datapaths: { ovs: { ...plan.datapaths.ovs!, mode: 'private' as const } } };
        await be.start(plan);
        await be.addVmPort(plan, plan.vms[0].ports[0]);
        await be.start(single);
        await be.removeBridge(single, 'web');
        // Optional methods the chosen backend lacks: nothing to settle or describe, a subscription that closes.
        expect(await be.describe!(plan)).toBeUndefined();
        await be.settle!(plan, ['a.eth0'], () => undefined);
        (await be.subscribe!(plan, () => undefined)).close();
        await expect(be.openCapture!(plan, 'a.eth0', tf.dir)).rejects.toThrow(/cannot capture/);
        expect(calls).toEqual(['fabric start', 'fabric add-port', 'single start', 'single remove-bridge']);
    });

    it('an ssh host is deployed there, not here: this machine runs the others, and deploys it over ssh', () => {
        const f = { ...plan.fabric!, here: undefined, hosts: plan.fabric!.hosts.map((h) => (h.name === 'h3' ? { ...h, kind: 'ssh' as const, ssh: 'root@192.0.2.3' } : h)) };
        expect(hostsHere(f).map((h) => h.name)).not.toContain('h3');
        expect(hostsOverSsh(f).map((h) => h.name)).toEqual(['h3']);
        // Under `--host h3` it is the one host this machine runs, and none is deployed over ssh from here.
        const part = { ...f, here: ['h3'], scope: 'h3' };
        expect(hostsHere(part).map((h) => h.name)).toEqual(['h3']);
        expect(hostsOverSsh(part)).toEqual([]);
    });

    it('verify pings pairs on one switch, and across a router when both ports have a gateway', () => {
        const t = pingTargets(plan).map((x) => `${x.from}>${x.to} ${x.address} ${x.expect}`);
        expect(t).toEqual([
            'a>b 10.0.1.2 reach', 'a>c 10.0.2.1 reach',
            'b>a 10.0.1.1 reach', 'b>c 10.0.2.1 reach',
            'c>a 10.0.1.1 reach', 'c>b 10.0.1.2 reach', 'c>d 10.0.2.2 reach',
            // d has no gateway: only its own switch.
            'd>c 10.0.2.1 reach',
        ]);
        // Without the router, only the switched pairs remain.
        const noRouter = { ...plan, fabric: { ...plan.fabric!, routers: [] } };
        expect(pingTargets(noRouter).map((x) => `${x.from}>${x.to}`)).toEqual(['a>b', 'b>a', 'c>d', 'd>c']);
    });

    it('the guest command line carries a gateway as a sixth field, only when set', () => {
        expect(guestCmdline(plan.vms[0])).toContain('vtopo.port=eth0,52:54:00:7f:00:01,10.0.1.1/24,1400,1,10.0.1.254');
        expect(guestCmdline(plan.vms[3])).toMatch(/vtopo\.port=eth0,52:54:00:7f:00:04,10\.0\.2\.2\/24,1400,1$/);
    });

    it('status keeps what a partly-down fabric describes, and prints hosts, chassis, tunnels and bindings', async () => {
        const described: DatapathSnapshot = {
            datapath: { kind: 'ovs', running: false, mode: 'fabric', error: 'host h2: ovn-controller is not running' },
            ports: [], fabric: FABRIC, warnings: fabricWarnings(FABRIC),
        };
        const be: DatapathBackend = { ...recorder('f', []), running: async () => false, describe: async () => described };
        const deps = {
            backend: async () => be,
            vms: { status: async (vm: { name: string }) => ({ name: vm.name, state: 'running' as const }) },
        } as unknown as RuntimeDeps;
        const s = await collectStatus(plan.sourceFile, plan.topology, plan, deps);
        expect(s.datapaths).toEqual([described.datapath]);
        expect(s.fabric).toEqual(FABRIC);
        expect(s.datapath_warnings?.map((w) => w.message)).toEqual([
            'host h2: ovn-controller is not running (the next `vtopo deploy` restarts it)',
            'host h2: chassis ovnur-h2 is not registered in the OVN Southbound',
            'logical port b.eth0 is not up: not bound to any chassis (host h2)',
        ]);
        const text = formatStatus(s);
        expect(text).toContain('ovn central (private): nb yes, sb yes, northd yes');
        expect(text).toMatch(/h1\s+ovnur-h1\s+yes\s+running\s+11\s+yes\s+h2 geneve up/);
        expect(text).toMatch(/h2\s+ovnur-h2\s+NO\s+stopped\s+-\s+yes\s+\(none\)/);
        expect(text).toMatch(/b\.eth0\s+web\s+h2\s+NO\s+-\s+NO/);
    });
});
