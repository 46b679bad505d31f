/**
 * The topology graph as an ELK input graph: nodes for NICs, bridges,
 * routers and VMs, the VMs inside a box per named host; edges for VM ports,
 * NIC attachments, bridge links and router ports, each carrying its
 * declaration and live link state. Pure; graph-panel.ts runs elkjs on it
 * and the webview draws the result.
 */
import type { Status } from '../core/status.js';
import { hostHealth } from './tree-model.js';
import type { Range, TopologyView } from '../core/lsp-protocol.js';

export type LiveState = 'up' | 'down' | 'unknown';

export interface GraphNode {
    id: string;
    kind: 'nic' | 'bridge' | 'vm' | 'router' | 'host';
    label: string;
    /** Second line: datapath, VM state, driver. */
    detail: string;
    state: LiveState;
    range: Range;
    /** A host node is a box: ELK sizes it around its children. */
    width: number;
    height: number;
    /** The host box this node sits in. */
    parent?: string;
}

export interface GraphEdge {
    id: string;
    kind: 'port' | 'nic' | 'link' | 'router-port';
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
export interface ElkNode {
    id: string;
    width?: number;
    height?: number;
    layoutOptions?: Record<string, string>;
    children?: ElkNode[];
}
export interface ElkInput {
    id: string;
    layoutOptions: Record<string, string>;
    children: ElkNode[];
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
    const hostNames = new Set((model.hosts ?? []).map((h) => h.name));
    for (const h of model.hosts ?? []) {
        const detail = h.kind === 'ssh' ? `ssh ${h.ssh ?? ''}`.trim() : h.kind === 'netns' ? 'netns' : 'this machine';
        const state: LiveState = !live?.fabric ? 'unknown' : hostHealth(live.fabric.hosts.find((x) => x.name === h.name)).ok ? 'up' : 'down';
        nodes.push({ id: `host:${h.name}`, kind: 'host', label: h.name, detail, state, range: h.range, width: 0, height: 0 });
    }
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
        // A guest another machine runs is not in this machine's VM list: its ports' bindings tell.
        const remote = live && !v && vm.host && model.hosts?.find((h) => h.name === vm.host)?.kind === 'ssh';
        const bound = vm.ports.every((p) => live?.fabric?.ports.find((x) => x.name === p.id)?.up);
        const shown = remote ? `on ${vm.host}` : detail;
        const state: LiveState = !live ? 'unknown' : remote ? (bound ? 'up' : 'down') : v?.state === 'running' ? 'up' : 'down';
        const parent = vm.host && hostNames.has(vm.host) ? { parent: `host:${vm.host}` } : {};
        nodes.push({ id: `vm:${vm.name}`, kind: 'vm', label: vm.name, detail: shown, state, range: vm.range, ...size(vm.name, shown), ...parent });
        for (const p of vm.ports) {
            if (!p.bridge || !bridgeIds.has(p.bridge)) continue;
            const lp = live?.fabric?.ports.find((x) => x.name === p.id);
            const state: LiveState = lp ? (lp.up ? 'up' : 'down') : portState(live, p.id);
            edges.push({ id: `port:${p.id}`, kind: 'port', source: `vm:${vm.name}`, target: `bridge:${p.bridge}`, label: `${p.name}${p.queues > 1 ? ` ×${p.queues}` : ''}`, state, range: p.range });
        }
    }
    for (const l of model.links) {
        if (!bridgeIds.has(l.a) || !bridgeIds.has(l.b)) continue;
        // The datapath reports a link's carrier under its id (the embedded one does; OvS links are always up).
        const ls = live?.links?.find((x) => x.id === l.id);
        const state: LiveState = !live ? 'unknown' : ls ? (ls.link === 'up' ? 'up' : 'down') : 'up';
        const impaired = ls?.directions.some((d) => d.impair);
        edges.push({ id: `link:${l.id}`, kind: 'link', source: `bridge:${l.a}`, target: `bridge:${l.b}`, label: impaired ? 'link (impaired)' : 'link', state, range: l.range });
    }
    for (const r of model.routers ?? []) {
        const detail = `router · ${r.ports.length} port${r.ports.length === 1 ? '' : 's'}`;
        // OVN runs the router on every chassis; it is there when the northbound database is.
        const state: LiveState = !live ? 'unknown' : live.fabric?.central.nb ? 'up' : 'down';
        nodes.push({ id: `router:${r.name}`, kind: 'router', label: r.name, detail, state, range: r.range, ...size(r.name, detail) });
        for (const p of r.ports) {
            if (!bridgeIds.has(p.bridge)) continue;
            edges.push({ id: `rport:${r.name}:${p.bridge}`, kind: 'router-port', source: `router:${r.name}`, target: `bridge:${p.bridge}`, label: p.network, state, range: r.range });
        }
    }
    return { topology: model.name, uri: model.uri, deployed: !!live, nodes, edges };
}

export function elkInput(g: TopologyGraph): ElkInput {
    const leaf = (n: GraphNode): ElkNode => ({ id: n.id, width: n.width, height: n.height });
    const children: ElkNode[] = g.nodes.filter((n) => !n.parent && n.kind !== 'host').map(leaf);
    for (const h of g.nodes.filter((n) => n.kind === 'host')) {
        // Room at the top for the host's name and kind; an empty host still shows as a small box.
        const inside = g.nodes.filter((n) => n.parent === h.id).map(leaf);
        children.push({
            id: h.id,
            layoutOptions: { 'elk.padding': '[top=40,left=14,bottom=14,right=14]', 'elk.nodeSize.constraints': 'MINIMUM_SIZE', 'elk.nodeSize.minimum': '(110,70)' },
            children: inside,
        });
    }
    return {
        id: 'root',
        layoutOptions: {
            'elk.algorithm': 'layered',
            'elk.direction': 'RIGHT',
            'elk.spacing.nodeNode': '30',
            'elk.layered.spacing.nodeNodeBetweenLayers': '70',
            'elk.edgeRouting': 'POLYLINE',
            // Edges leave the host boxes: lay out the whole hierarchy at once, with coordinates in the root's frame.
            'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
            'elk.json.edgeCoords': 'ROOT',
        },
        children,
        edges: g.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
    };
}
