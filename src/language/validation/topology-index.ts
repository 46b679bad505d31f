import type { Bridge, Host, Link, Model, Nic, Port, Topology, Vm } from '../generated/ast.js';
import { hostCores, hostPollCores, isLocalHost } from '../defaults.js';

/**
 * One pass over a topology's elements, so topology-wide rules stay linear
 * in the number of VMs (the 1,000-VM bench revalidates on every keystroke).
 */
export interface TopologyIndex {
    hosts: Host[];
    /** This machine's host block (defaults.ts hostOf); VMs without `host` run there. */
    host: Host | undefined;
    /** The host's cores and poll cores, parsed once (undefined cores: not declared or invalid). */
    hostCores: number[] | undefined;
    pollCores: number[];
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

/**
 * Drops the cached indexes of a document's topologies. The document
 * validator calls it before each validation, so the index is built once per
 * validation run and never outlives a relink (segments follow references).
 */
export function invalidateIndex(model: Model | undefined): void {
    for (const t of model?.topologies ?? []) cache.delete(t);
}

export function indexTopology(t: Topology): TopologyIndex {
    const hit = cache.get(t);
    if (hit) return hit;
    const idx: TopologyIndex = { hosts: [], host: undefined, hostCores: undefined, pollCores: [], bridges: [], nics: [], vms: [], links: [], ports: [], segmentOf: new Map(), cycleLinks: [] };
    for (const e of t.elements) {
        switch (e.$type) {
            case 'Bridge': idx.bridges.push(e); break;
            case 'Nic': idx.nics.push(e); break;
            case 'Vm': idx.vms.push(e); idx.ports.push(...e.ports); break;
            case 'Link': idx.links.push(e); break;
            case 'Host': idx.hosts.push(e); break;
        }
    }
    idx.host = idx.hosts.find(isLocalHost) ?? idx.hosts[0];
    idx.hostCores = hostCores(idx.host);
    idx.pollCores = hostPollCores(idx.host);
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
