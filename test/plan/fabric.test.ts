/**
 * A topology across hosts (issue 20) plans into Plan.fabric: per-host OvS
 * and ovn-controller, the central, one logical switch per bridge, routers,
 * each VM on its host. The golden file of examples/multi-host.vtopo pins
 * the whole plan (test/plan/plan.test.ts); this says what must hold.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/core/api.js';
import type { Plan } from '../../src/core/plan.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, socketsOf, topologyOf } from '../../src/plan/compile.js';

const facts = { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/labs/f.vtopo', onlineCpus: [0, 1] };

async function planOf(text: string, scopeHost?: string): Promise<Plan> {
    const r = await checkText(text);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
    return compilePlan(topologyOf(r.model!, 'f.vtopo'), { ...facts, ...(scopeHost ? { scopeHost } : {}) });
}

describe('a topology across hosts', () => {
    it('plans hosts, a private central, logical switches with every port and the router', async () => {
        const plan = await planOf(readFileSync('examples/multi-host.vtopo', 'utf8'));
        const f = plan.fabric!;
        expect(f.hosts.map((h) => [h.name, h.kind, h.underlay, h.chassis, h.vms])).toEqual([
            ['h1', 'local', '172.31.0.1/24', 'campus-h1', ['a']],
            ['h2', 'netns', '172.31.0.2/24', 'campus-h2', ['b']],
            ['h3', 'netns', '172.31.0.3/24', 'campus-h3', ['c']],
        ]);
        expect(new Set(f.hosts.map((h) => h.netns)).size).toBe(3);
        expect(new Set(f.hosts.map((h) => h.ovs.filePrefix)).size).toBe(3);
        for (const h of f.hosts) expect(h.ovs.dbSocket.startsWith(`${plan.runDir}/hosts/${h.name}/`)).toBe(true);
        expect(f.central).toMatchObject({ kind: 'private', host: 'h1', sbRemote: 'tcp:172.31.0.1:6642' });
        expect(f).toMatchObject({ engine: 'ovn', encap: 'geneve', underlayMtu: 1600 });
        const mac = (id: string) => plan.vms.flatMap((v) => v.ports).find((p) => p.id === id)!.mac;
        expect(f.switches).toEqual([
            { name: 'web', mtu: 1400, ports: [
                { name: 'a.eth0', vm: 'a', host: 'h1', addresses: `${mac('a.eth0')} 10.0.1.1`, ip: '10.0.1.1/24', gateway: '10.0.1.254' },
                { name: 'b.eth0', vm: 'b', host: 'h2', addresses: `${mac('b.eth0')} 10.0.1.2`, ip: '10.0.1.2/24', gateway: '10.0.1.254' },
            ] },
            { name: 'db', mtu: 1400, ports: [{ name: 'c.eth0', vm: 'c', host: 'h3', addresses: `${mac('c.eth0')} 10.0.2.1`, ip: '10.0.2.1/24', gateway: '10.0.2.254' }] },
        ]);
        expect(f.routers.map((r) => [r.name, r.ports.map((p) => [p.name, p.switch, p.network])])).toEqual([
            ['edge', [['edge-web', 'web', '10.0.1.254/24'], ['edge-db', 'db', '10.0.2.254/24']]],
        ]);
        expect(plan.vms.map((v) => [v.name, v.host, v.ports[0].gateway, v.ports[0].datapath])).toEqual([
            ['a', 'h1', '10.0.1.254', 'ovs'], ['b', 'h2', '10.0.1.254', 'ovs'], ['c', 'h3', '10.0.2.254', 'ovs'],
        ]);
        expect(plan.datapaths).toEqual({ ovs: { mode: 'fabric', dbSocket: f.hosts[0].ovs.dbSocket, runDir: `${plan.runDir}/ovs`, rxqPlacement: 'scheduler' } });
        // Every socket of every host is named and fits sun_path.
        const sockets = socketsOf(plan).map((s) => s.path);
        expect(sockets).toEqual(expect.arrayContaining([...f.hosts.map((h) => h.ovs.dbSocket), (f.central as { nbSocket: string }).nbSocket]));
        for (const s of sockets) expect(Buffer.byteLength(s)).toBeLessThan(108);
    });

    it('routes, an existing OVN and an ssh host plan as written; the router MACs are stable and distinct', async () => {
        const text = `topology t {
  host h1 { cores 0-1  memory 4G  underlay 192.0.2.1/24 }
  host h2 { ssh "root@192.0.2.2"  underlay 192.0.2.2/24  uplink af_packet "eth1"  memory 2G }
  fabric { engine ovn  encap vxlan  ovn-nb "tcp:192.0.2.10:6641"  ovn-sb "tcp:192.0.2.10:6642"  underlay-mtu 1600 }
  bridge web { datapath ovs  mtu 1400 }
  bridge db { datapath ovs  mtu 1400 }
  router r { port web 10.0.1.254/24  port db 10.0.2.254/24  route 0.0.0.0/0 via 10.0.2.1 }
  vm a { host h1  memory 256M  port eth0 { bridge web  ip 10.0.1.1/24  gateway 10.0.1.254 } }
  vm b { host h2  memory 512M  port eth0 { bridge db  ip 10.0.2.1/24 } }
}
`;
        const plan = await planOf(text);
        const f = plan.fabric!;
        expect(f.central).toEqual({ kind: 'external', nb: 'tcp:192.0.2.10:6641', sb: 'tcp:192.0.2.10:6642' });
        expect(f.encap).toBe('vxlan');
        expect(f.hosts[1]).toMatchObject({ kind: 'ssh', ssh: 'root@192.0.2.2', vms: ['b'] });
        expect(f.routers[0].routes).toEqual([{ prefix: '0.0.0.0/0', nexthop: '10.0.2.1' }]);
        const macs = f.routers[0].ports.map((p) => p.mac);
        expect(new Set(macs).size).toBe(2);
        expect((await planOf(text)).fabric!.routers[0].ports.map((p) => p.mac)).toEqual(macs);
        // This machine carries the guests of local and simulated hosts, not the ssh host's (its own vtopo runs them there).
        expect(plan.host.memoryBytes).toBe(4 * 2 ** 30);
        expect(plan.vms.map((v) => v.name)).toEqual(['a']);
        expect(f.here).toEqual(['h1']);
        expect(f.switches.flatMap((s) => s.ports.map((p) => p.name))).toEqual(['a.eth0', 'b.eth0']);

        // `--host h2`, as the ssh host runs it: its part alone, in a run directory of its own, with its own resources.
        const part = await planOf(text, 'h2');
        expect(part.runDir).toBe('/run/vtopo/t@h2');
        expect(part.vms.map((v) => [v.name, v.host])).toEqual([['b', 'h2']]);
        expect(part.vms[0].ports[0].gateway).toBeUndefined();
        expect(part.host.memoryBytes).toBe(2 * 2 ** 30);
        expect(part.fabric).toMatchObject({ here: ['h2'], scope: 'h2' });
        expect(part.fabric!.hosts[1].ovs.runDir).toBe('/run/vtopo/t@h2/hosts/h2');
        const model = (await checkText(text)).model!;
        expect(() => compilePlan(topologyOf(model, 'f.vtopo'), { ...facts, scopeHost: 'h9' })).toThrow(/topology t has no host h9/);
    });

    it('named hosts other than one local host need a fabric; one named local host plans as a single host', async () => {
        const r = await checkText('topology t {\n  host h1 { cores 0-1  memory 4G }\n  host h2 { netns  underlay 172.31.0.2/24 }\n  bridge br0\n  vm a { memory 256M  host h2  port eth0 { bridge br0 } }\n}\n');
        const run = () => compilePlan(topologyOf(r.model!, 'f.vtopo'), facts);
        expect(run).toThrow(VtopoError);
        expect(run).toThrow(/named hosts \(h1, h2\) but no fabric block/);
        const one = await planOf('topology t {\n  host h1 { cores 0-1  memory 4G }\n  bridge br0\n  vm a { memory 256M  host h1  port eth0 { bridge br0 } }\n}\n');
        expect(one.fabric).toBeUndefined();
        expect(one.vms.map((v) => [v.name, v.host])).toEqual([['a', undefined]]);
    });

    it('a nic or a non-ovs bridge under a fabric is a checker error on its line, and the plan refuses it too', async () => {
        const text = readFileSync('examples/multi-host.vtopo', 'utf8').replace('bridge db  { datapath ovs  mtu 1400 }', 'bridge db  { mtu 1400 }\n  nic up { driver tap  bridge web }');
        const r = await checkText(text);
        const codes = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.line]);
        expect(codes).toEqual(expect.arrayContaining([['fabric-bridge-not-ovs', 19], ['fabric-nic-unsupported', 20]]));
        expect(() => compilePlan(topologyOf(r.model!, 'f.vtopo'), facts)).toThrow(/datapath ovs/);
    });
});
