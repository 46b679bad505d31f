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
interface ElkOutNode { id: string; x?: number; y?: number; width?: number; height?: number; children?: ElkOutNode[] }
interface ElkOut {
    width?: number;
    height?: number;
    children?: ElkOutNode[];
    edges?: { id: string; sections?: ElkSection[] }[];
}

/** Every node's box in the root's frame (ELK gives a child's position relative to its parent). */
function boxes(nodes: ElkOutNode[], dx: number, dy: number, out: Map<string, { x: number; y: number; width?: number; height?: number }>): void {
    for (const n of nodes) {
        const x = dx + (n.x ?? 0), y = dy + (n.y ?? 0);
        out.set(n.id, { x, y, width: n.width, height: n.height });
        if (n.children) boxes(n.children, x, y, out);
    }
}

let elk: InstanceType<typeof ELK> | undefined;

export async function layoutGraph(g: TopologyGraph): Promise<LaidOutGraph> {
    elk ??= new ELK();
    const out = (await elk.layout(elkInput(g) as never)) as unknown as ElkOut;
    const pos = new Map<string, { x: number; y: number; width?: number; height?: number }>();
    boxes(out.children ?? [], 0, 0, pos);
    const route = new Map((out.edges ?? []).map((e) => {
        const s = e.sections?.[0];
        return [e.id, s ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] : []];
    }));
    return {
        topology: g.topology, uri: g.uri, deployed: g.deployed,
        width: out.width ?? 0, height: out.height ?? 0,
        nodes: g.nodes.map((n) => {
            const b = pos.get(n.id);
            return { ...n, x: b?.x ?? 0, y: b?.y ?? 0, width: n.kind === 'host' ? b?.width ?? n.width : n.width, height: n.kind === 'host' ? b?.height ?? n.height : n.height };
        }),
        edges: g.edges.map((e) => ({ ...e, points: route.get(e.id) ?? [] })),
    };
}

export function layoutView(view: TopologyView): Promise<LaidOutGraph> {
    return layoutGraph(buildGraph(view));
}
