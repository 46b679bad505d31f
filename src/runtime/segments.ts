/**
 * L2 segments of a plan: bridges joined by links form one broadcast
 * domain, cut by VLANs. A guest's port address is on the VLAN its untagged
 * frames enter: the access VLAN, a trunk's native VLAN, VLAN 0 for a port
 * without settings; a trunk without a native VLAN drops them (that address
 * reaches no one).
 */
import type { Plan, VmPortPlan } from '../core/plan.js';

export interface PingTarget {
    /** VM that sends the pings. */
    from: string;
    /** How the pair is named in results: the peer VM, or `<vm>.<port>` when it has several ports there. */
    to: string;
    /** Peer address without prefix. */
    address: string;
    /** isolated: same bridges, other VLANs; the ping must not get through. */
    expect: 'reach' | 'isolated';
    /** For isolated pairs: the two VLANs, e.g. "VLAN 10 / VLAN 20". */
    why?: string;
}

/** The VLAN a port's untagged frames (its guest address) are in; undefined when the port drops them. */
export function untaggedVlan(p: Pick<VmPortPlan, 'vlan'>): number | undefined {
    if (!p.vlan) return 0;
    return p.vlan.mode === 'access' ? p.vlan.tag : p.vlan.native;
}

const vlanName = (p: Pick<VmPortPlan, 'vlan'>) => {
    const v = untaggedVlan(p);
    return v === undefined ? 'a trunk without native VLAN' : v === 0 ? 'no VLAN' : `VLAN ${v}`;
};

/** bridge name → segment id (the smallest bridge name in its component). */
export function segmentsOf(plan: Plan): Map<string, string> {
    const parent = new Map<string, string>(plan.bridges.map((b) => [b.name, b.name]));
    const find = (x: string): string => {
        let r = x;
        while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
        return r;
    };
    for (const l of plan.links) {
        if (!parent.has(l.a) || !parent.has(l.b)) continue;
        const [ra, rb] = [find(l.a), find(l.b)];
        if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
    }
    return new Map([...parent.keys()].map((b) => [b, find(b)]));
}

/**
 * In a fabric: true when a router has ports on both switches (bridges), so
 * guests with a gateway on one reach guests with a gateway on the other.
 */
export function routedBetween(plan: Plan, a: string, b: string): boolean {
    return a !== b && (plan.fabric?.routers ?? []).some((r) => r.ports.some((p) => p.switch === a) && r.ports.some((p) => p.switch === b));
}

/**
 * Every (guest, peer address) pair that shares an L2 segment, both sides
 * with an ip: `reach` when both addresses are on one VLAN there,
 * `isolated` when the VLANs differ. In a fabric also every pair on two
 * switches a router joins, when both ports have a gateway (routed): `reach`.
 */
type Peer = Pick<VmPortPlan, 'id' | 'bridge' | 'ip' | 'gateway' | 'vlan'>;

/** Guests another machine runs (a fabric's ssh hosts, or every other host under `--host`): reached, not pinged from. */
function otherHostsGuests(plan: Plan): { name: string; ports: Peer[] }[] {
    const mine = new Set(plan.vms.map((v) => v.name));
    const byVm = new Map<string, Peer[]>();
    for (const sw of plan.fabric?.switches ?? []) {
        for (const p of sw.ports) {
            if (mine.has(p.vm)) continue;
            byVm.set(p.vm, [...(byVm.get(p.vm) ?? []), { id: p.name, bridge: sw.name, ...(p.ip ? { ip: p.ip } : {}), ...(p.gateway ? { gateway: p.gateway } : {}) }]);
        }
    }
    return [...byVm].map(([name, ports]) => ({ name, ports }));
}

export function pingTargets(plan: Plan): PingTarget[] {
    const seg = segmentsOf(plan);
    const out: PingTarget[] = [];
    const routed = (m: Peer, p: Peer) => !!m.gateway && !!p.gateway && routedBetween(plan, m.bridge, p.bridge);
    const peersAll: { name: string; ports: Peer[] }[] = [...plan.vms, ...otherHostsGuests(plan)];
    for (const src of plan.vms) {
        const mine = src.ports.filter((p) => p.ip);
        for (const dst of peersAll) {
            if (dst.name === src.name) continue;
            const peers = dst.ports.filter((p) => p.ip && mine.some((m) => seg.get(m.bridge) === seg.get(p.bridge) || routed(m, p)));
            for (const p of peers) {
                const local = mine.filter((m) => seg.get(m.bridge) === seg.get(p.bridge));
                const v = untaggedVlan(p);
                // Routed: the router forwards untagged (fabric ports have no VLANs).
                const same = (v !== undefined && local.some((m) => untaggedVlan(m) === v)) || (local.length === 0 && mine.some((m) => routed(m, p)));
                out.push({
                    from: src.name,
                    to: peers.length > 1 ? p.id : dst.name,
                    address: p.ip!.split('/')[0],
                    expect: same ? 'reach' : 'isolated',
                    ...(same ? {} : { why: `${local.map(vlanName).join(', ')} / ${vlanName(p)}` }),
                });
            }
        }
    }
    return out;
}
