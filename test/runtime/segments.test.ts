/**
 * How `verify` groups guests into L2 segments: bridges joined by links are
 * one segment, each guest pings every other guest address in a segment it
 * has an address in, guests without ports or addresses are neither source
 * nor target, and a peer with several addresses in a segment is named by
 * port.
 */
import { describe, expect, it } from 'vitest';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import type { Plan, VmPortPlan } from '../../src/core/plan.js';
import { pingTargets, segmentsOf, type PingTarget } from '../../src/runtime/segments.js';

const TEXT = `
topology seglab {
  host {
    cores 0-1
    memory 4G
    poll-cores 1
  }
  bridge br0 { datapath embedded }
  bridge br1 { datapath embedded }
  bridge br2 { datapath embedded }
  link br0 br1

  vm a {
    cpus 1
    memory 128M
    port eth0 { bridge br0  ip 10.0.0.1/24 }
  }
  vm b {
    cpus 1
    memory 128M
    port eth0 { bridge br1  ip 10.0.0.2/24 }
  }
  vm c {
    cpus 1
    memory 128M
    port eth0 { bridge br2  ip 10.0.2.3/24 }
  }
  vm d {
    cpus 1
    memory 128M
    port eth0 { bridge br0  ip 10.0.0.4/24 }
    port eth1 { bridge br1  ip 10.0.0.5/24 }
    port eth2 { bridge br2  ip 10.0.2.6/24 }
  }
  vm e {
    cpus 1
    memory 128M
    port eth0 { bridge br0 }
  }
  vm f {
    cpus 1
    memory 128M
  }
}
`;

async function compiled(): Promise<Plan> {
    const r = await checkText(TEXT, 'seglab.vtopo');
    expect(r.hasErrors, JSON.stringify(r.diagnostics.filter((d) => d.severity === 'error'))).toBe(false);
    return compilePlan(topologyOf(r.model!, '/src/seglab.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/seglab.vtopo', onlineCpus: [0, 1] });
}

const key = (t: PingTarget) => `${t.from} -> ${t.to} @ ${t.address}`;
const sorted = (ts: PingTarget[]) => ts.map(key).sort();

describe('segmentsOf', () => {
    it('joins linked bridges under the smallest name and leaves a lone bridge alone', async () => {
        const plan = await compiled();
        expect(plan.links.map((l) => [l.a, l.b].sort())).toEqual([['br0', 'br1']]);
        expect(Object.fromEntries(segmentsOf(plan))).toEqual({ br0: 'br0', br1: 'br0', br2: 'br2' });
    });

    it('merges chains in any order and ignores links to unknown bridges', () => {
        const plan = {
            bridges: ['z', 'y', 'x', 'w', 'v'].map((name) => ({ name, datapath: 'embedded', mtu: 1500 })),
            links: [
                { id: 'y--z', a: 'z', b: 'y' },
                { id: 'w--x', a: 'x', b: 'w' },
                { id: 'x--y', a: 'y', b: 'x' },
                { id: 'gone--v', a: 'v', b: 'gone' },
            ],
            vms: [],
        } as unknown as Plan;
        const seg = segmentsOf(plan);
        expect(Object.fromEntries(seg)).toEqual({ z: 'w', y: 'w', x: 'w', w: 'w', v: 'v' });
        expect(seg.has('gone')).toBe(false);
    });
});

describe('pingTargets', () => {
    it('pairs every addressed guest with every other addressed port in its segments', async () => {
        const plan = await compiled();
        expect(sorted(pingTargets(plan))).toEqual([
            // a (br0) reaches b over the link, and both of d's ports in br0+br1 (named by port).
            'a -> b @ 10.0.0.2',
            'a -> d.eth0 @ 10.0.0.4',
            'a -> d.eth1 @ 10.0.0.5',
            'b -> a @ 10.0.0.1',
            'b -> d.eth0 @ 10.0.0.4',
            'b -> d.eth1 @ 10.0.0.5',
            // c (br2) sees only d's br2 port, named by the vm: d has one address there.
            'c -> d @ 10.0.2.6',
            // d pings from all its segments.
            'd -> a @ 10.0.0.1',
            'd -> b @ 10.0.0.2',
            'd -> c @ 10.0.2.3',
        ]);
    });

    it('skips portless and address-less guests on both sides and never pairs across segments', async () => {
        const plan = await compiled();
        const ts = pingTargets(plan);
        for (const vm of ['e', 'f']) {
            expect(ts.some((t) => t.from === vm || t.to === vm || t.to.startsWith(`${vm}.`))).toBe(false);
        }
        expect(ts.some((t) => (t.from === 'c' && ['a', 'b'].includes(t.to)) || (['a', 'b'].includes(t.from) && t.to === 'c'))).toBe(false);
        expect(ts.every((t) => !t.address.includes('/'))).toBe(true);
        expect(ts.some((t) => t.from === t.to || t.to.startsWith(`${t.from}.`))).toBe(false);
    });

    it('gives no targets when the link is removed between single-guest bridges', async () => {
        const plan = await compiled();
        const unlinked: Plan = { ...plan, links: [], vms: plan.vms.filter((v) => v.name === 'a' || v.name === 'b') };
        expect(pingTargets(unlinked)).toEqual([]);
        expect(sorted(pingTargets({ ...unlinked, links: plan.links }))).toEqual(['a -> b @ 10.0.0.2', 'b -> a @ 10.0.0.1']);
    });
});

describe('pingTargets with VLANs', () => {
    const withVlans = (plan: Plan, vlans: Record<string, VmPortPlan['vlan']>): Plan => ({
        ...plan,
        vms: plan.vms.map((v) => ({ ...v, ports: v.ports.map((p) => (p.id in vlans ? { ...p, vlan: vlans[p.id] } : p)) })),
    });
    const marked = (ts: PingTarget[]) => ts.map((t) => `${key(t)} ${t.expect}`).sort();

    it('expects reach within a VLAN and isolation across VLANs of one segment; a trunk reaches its native VLAN only', async () => {
        const plan = withVlans(await compiled(), {
            'a.eth0': { mode: 'access', tag: 10 },
            'b.eth0': { mode: 'trunk', trunks: [10, 20], native: 10 },
            'd.eth0': { mode: 'access', tag: 20 },
            'd.eth1': { mode: 'trunk', trunks: [10] },
        });
        const ts = pingTargets(plan).filter((t) => t.from !== 'c' && t.to !== 'c');
        expect(marked(ts)).toEqual([
            'a -> b @ 10.0.0.2 reach',
            'a -> d.eth0 @ 10.0.0.4 isolated',
            'a -> d.eth1 @ 10.0.0.5 isolated',
            'b -> a @ 10.0.0.1 reach',
            'b -> d.eth0 @ 10.0.0.4 isolated',
            'b -> d.eth1 @ 10.0.0.5 isolated',
            // d's eth1 is a trunk without a native VLAN: its address is on no VLAN, so d reaches a and b from nowhere.
            'd -> a @ 10.0.0.1 isolated',
            'd -> b @ 10.0.0.2 isolated',
        ]);
        expect(ts.find((t) => t.from === 'a' && t.to === 'd.eth0')?.why).toBe('VLAN 10 / VLAN 20');
        // Ports without settings share VLAN 0: the plain lab is unchanged.
        expect(pingTargets(await compiled()).every((t) => t.expect === 'reach')).toBe(true);
    });
});

describe('verify across hosts: guests another machine runs are pinged, never pinged from', () => {
    const text = `topology sx {
  host h1 { cores 0-1  memory 4G  underlay 172.31.9.1/24 }
  host h3 { ssh "root@172.31.9.3"  underlay 172.31.9.3/24  uplink af_packet "eth1" }
  fabric { engine ovn  central h1  underlay-mtu 1600 }
  bridge web { datapath ovs  mtu 1400 }
  bridge db { datapath ovs  mtu 1400 }
  router edge { port web 10.0.1.254/24  port db 10.0.2.254/24 }
  vm a { host h1  memory 256M  port eth0 { bridge web  ip 10.0.1.1/24  gateway 10.0.1.254 } }
  vm c { host h3  memory 256M  port eth0 { bridge web  ip 10.0.1.3/24  gateway 10.0.1.254 } }
  vm d { host h3  memory 256M  port eth0 { bridge db  ip 10.0.2.4/24  gateway 10.0.2.254 } }
  vm e { host h3  memory 256M  port eth0 { bridge db  ip 10.0.2.5/24 } }
}
`;
    async function planned(scopeHost?: string): Promise<Plan> {
        const r = await checkText(text);
        expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
        return compilePlan(topologyOf(r.model!, 'f.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/l/f.vtopo', onlineCpus: [0, 1], ...(scopeHost ? { scopeHost } : {}) });
    }
    const pairs = (p: Plan) => pingTargets(p).map((t) => `${t.from}>${t.to} ${t.address} ${t.expect}`).sort();

    it('from this machine: switched and routed pairs to the ssh host\'s guests (one without a gateway is not routed to)', async () => {
        expect(pairs(await planned())).toEqual(['a>c 10.0.1.3 reach', 'a>d 10.0.2.4 reach']);
    });

    it('under --host: that host\'s guests ping each other and the others\' guests', async () => {
        expect(pairs(await planned('h3'))).toEqual([
            'c>a 10.0.1.1 reach', 'c>d 10.0.2.4 reach', 'd>a 10.0.1.1 reach', 'd>c 10.0.1.3 reach', 'd>e 10.0.2.5 reach', 'e>d 10.0.2.4 reach',
        ]);
    });
});
