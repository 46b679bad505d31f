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
