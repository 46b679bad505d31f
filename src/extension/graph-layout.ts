/**
 * Lays the topology graph out with elkjs (layered, left to right) and
 * returns plain coordinates the webview can draw without any library.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import { buildGraph, elkInput, type GraphEdge, type GraphNode, type TopologyGraph } from './graph-model.js';
import type { TopologyView } from '../core/lsp-protocol.js';

export interface Point { x: number; y: number }
export interface PlacedNode extends GraphNode { x: number; y: number }
export interface PlacedEdge extends GraphEdge { points: Point[] }
export interface LaidOutGraph extends Omit<TopologyGraph, 'nodes' | 'edges'> {
    width: number;
    height: number;
    nodes: PlacedNode[];
    edges: PlacedEdge[];
}

interface ElkSection { startPoint: Point; endPoint: Point; bendPoints?: Point[] }
interface ElkOut {
    width?: number;
    height?: number;
    children?: { id: string; x?: number; y?: number }[];
    edges?: { id: string; sections?: ElkSection[] }[];
}

let elk: InstanceType<typeof ELK> | undefined;

export async function layoutGraph(g: TopologyGraph): Promise<LaidOutGraph> {
    elk ??= new ELK();
    const out = (await elk.layout(elkInput(g) as never)) as unknown as ElkOut;
    const pos = new Map((out.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
    const route = new Map((out.edges ?? []).map((e) => {
        const s = e.sections?.[0];
        return [e.id, s ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] : []];
    }));
    return {
        topology: g.topology, uri: g.uri, deployed: g.deployed,
        width: out.width ?? 0, height: out.height ?? 0,
        nodes: g.nodes.map((n) => ({ ...n, ...(pos.get(n.id) ?? { x: 0, y: 0 }) })),
        edges: g.edges.map((e) => ({ ...e, points: route.get(e.id) ?? [] })),
    };
}

export function layoutView(view: TopologyView): Promise<LaidOutGraph> {
    return layoutGraph(buildGraph(view));
}
