/**
 * The topology graph as an ELK input graph: nodes for NICs, bridges and
 * VMs, edges for VM ports, NIC attachments and bridge links, each carrying
 * its declaration and live link state. Pure; graph-panel.ts runs elkjs on it
 * and the webview draws the result.
 */
import type { Status } from '../core/status.js';
import type { Range, TopologyView } from '../core/lsp-protocol.js';

export type LiveState = 'up' | 'down' | 'unknown';

export interface GraphNode {
    id: string;
    kind: 'nic' | 'bridge' | 'vm';
    label: string;
    /** Second line: datapath, VM state, driver. */
    detail: string;
    state: LiveState;
    range: Range;
    width: number;
    height: number;
}

export interface GraphEdge {
    id: string;
    kind: 'port' | 'nic' | 'link';
    source: string;
    target: string;
    label: string;
    state: LiveState;
    range: Range;
}

export interface TopologyGraph {
    topology: string;
    uri: string;
    deployed: boolean;
    nodes: GraphNode[];
    edges: GraphEdge[];
}

/** What elkjs lays out: nodes with sizes, edges with end points; positions come back filled in. */
export interface ElkInput {
    id: string;
    layoutOptions: Record<string, string>;
    children: { id: string; width: number; height: number }[];
    edges: { id: string; sources: string[]; targets: string[] }[];
}

const CHAR_W = 7.5;

function size(label: string, detail: string): { width: number; height: number } {
    return { width: Math.max(90, Math.ceil(Math.max(label.length, detail.length) * CHAR_W) + 24), height: 44 };
}

function portState(status: Status | undefined, id: string): LiveState {
    if (!status?.deployed) return 'unknown';
    const p = status.ports.find((x) => x.id === id);
    if (!p) return 'down';
    return p.link === 'up' && !p.error ? 'up' : 'down';
}

export function buildGraph(view: TopologyView): TopologyGraph {
    const { model, status } = view;
    const live = status?.deployed ? status : undefined;
    const nodes: GraphNode[] = [];
    const edges: GraphEdge[] = [];
    for (const b of model.bridges) {
        const dp = live?.datapaths.find((d) => d.kind === b.datapath);
        const detail = b.datapath;
        nodes.push({ id: `bridge:${b.name}`, kind: 'bridge', label: b.name, detail, state: !live ? 'unknown' : dp?.running && !dp.error ? 'up' : 'down', range: b.range, ...size(b.name, detail) });
    }
    const bridgeIds = new Set(model.bridges.map((b) => b.name));
    for (const n of model.nics) {
        const detail = `nic · ${n.driver ?? '?'} · ${n.queues}q`;
        const state = portState(live, n.name);
        nodes.push({ id: `nic:${n.name}`, kind: 'nic', label: n.name, detail, state, range: n.range, ...size(n.name, detail) });
        if (n.bridge && bridgeIds.has(n.bridge)) edges.push({ id: `nic:${n.name}`, kind: 'nic', source: `nic:${n.name}`, target: `bridge:${n.bridge}`, label: '', state, range: n.range });
    }
    for (const vm of model.vms) {
        const v = live?.vms.find((x) => x.name === vm.name);
        const detail = live ? (v?.state ?? 'absent') : `${vm.cpus} vCPU`;
        nodes.push({ id: `vm:${vm.name}`, kind: 'vm', label: vm.name, detail, state: !live ? 'unknown' : v?.state === 'running' ? 'up' : 'down', range: vm.range, ...size(vm.name, detail) });
        for (const p of vm.ports) {
            if (!p.bridge || !bridgeIds.has(p.bridge)) continue;
            edges.push({ id: `port:${p.id}`, kind: 'port', source: `vm:${vm.name}`, target: `bridge:${p.bridge}`, label: `${p.name}${p.queues > 1 ? ` ×${p.queues}` : ''}`, state: portState(live, p.id), range: p.range });
        }
    }
    for (const l of model.links) {
        if (!bridgeIds.has(l.a) || !bridgeIds.has(l.b)) continue;
        // A link has no port status of its own unless the datapath reports one under the link id.
        const state: LiveState = !live ? 'unknown' : live.ports.some((p) => p.id === l.id) ? portState(live, l.id) : 'up';
        edges.push({ id: `link:${l.id}`, kind: 'link', source: `bridge:${l.a}`, target: `bridge:${l.b}`, label: 'link', state, range: l.range });
    }
    return { topology: model.name, uri: model.uri, deployed: !!live, nodes, edges };
}

export function elkInput(g: TopologyGraph): ElkInput {
    return {
        id: 'root',
        layoutOptions: {
            'elk.algorithm': 'layered',
            'elk.direction': 'RIGHT',
            'elk.spacing.nodeNode': '30',
            'elk.layered.spacing.nodeNodeBetweenLayers': '70',
            'elk.edgeRouting': 'POLYLINE',
        },
        children: g.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
        edges: g.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    };
}
