import type { Bridge, Link, Nic, Port, Topology, Vm } from '../generated/ast.js';

/**
 * One pass over a topology's elements, so topology-wide rules stay linear
 * in the number of VMs (the 1,000-VM bench revalidates on every keystroke).
 */
export interface TopologyIndex {
    bridges: Bridge[];
    nics: Nic[];
    vms: Vm[];
    links: Link[];
    ports: Port[];
    /** L2 segment id per bridge: bridges joined by links share one. */
    segmentOf: Map<Bridge, number>;
    /** Links that close a loop (the first link that joins two already-joined bridges). */
    cycleLinks: Link[];
}

const cache = new WeakMap<Topology, TopologyIndex>();

export function indexTopology(t: Topology): TopologyIndex {
    const hit = cache.get(t);
    if (hit) return hit;
    const idx: TopologyIndex = { bridges: [], nics: [], vms: [], links: [], ports: [], segmentOf: new Map(), cycleLinks: [] };
    for (const e of t.elements) {
        switch (e.$type) {
            case 'Bridge': idx.bridges.push(e); break;
            case 'Nic': idx.nics.push(e); break;
            case 'Vm': idx.vms.push(e); idx.ports.push(...e.ports); break;
            case 'Link': idx.links.push(e); break;
        }
    }
    const parent = new Map<Bridge, Bridge>();
    const find = (b: Bridge): Bridge => {
        let r = b;
        while (parent.get(r) !== r) r = parent.get(r)!;
        let n = b;
        while (n !== r) { const next = parent.get(n)!; parent.set(n, r); n = next; }
        return r;
    };
    for (const b of idx.bridges) parent.set(b, b);
    for (const l of idx.links) {
        const a = l.a?.ref;
        const b = l.b?.ref;
        if (!a || !b || !parent.has(a) || !parent.has(b) || a === b) continue;
        const ra = find(a);
        const rb = find(b);
        if (ra === rb) idx.cycleLinks.push(l);
        else parent.set(ra, rb);
    }
    const ids = new Map<Bridge, number>();
    for (const b of idx.bridges) {
        const r = find(b);
        if (!ids.has(r)) ids.set(r, ids.size);
        idx.segmentOf.set(b, ids.get(r)!);
    }
    cache.set(t, idx);
    return idx;
}
