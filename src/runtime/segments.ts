/** L2 segments of a plan: bridges joined by links form one broadcast domain. */
import type { Plan } from '../core/plan.js';

export interface PingTarget {
    /** VM that sends the pings. */
    from: string;
    /** How the pair is named in results: the peer VM, or `<vm>.<port>` when it has several ports there. */
    to: string;
    /** Peer address without prefix. */
    address: string;
}

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

/** Every (guest, peer address) pair that shares an L2 segment, both sides with an ip. */
export function pingTargets(plan: Plan): PingTarget[] {
    const seg = segmentsOf(plan);
    const out: PingTarget[] = [];
    for (const src of plan.vms) {
        const srcSegs = new Set(src.ports.filter((p) => p.ip).map((p) => seg.get(p.bridge)));
        for (const dst of plan.vms) {
            if (dst === src) continue;
            const peers = dst.ports.filter((p) => p.ip && srcSegs.has(seg.get(p.bridge)));
            for (const p of peers) {
                out.push({
                    from: src.name,
                    to: peers.length > 1 ? p.id : dst.name,
                    address: p.ip!.split('/')[0],
                });
            }
        }
    }
    return out;
}
