import { readFileSync } from 'node:fs';
import { EmptyFileSystem } from 'langium';
import { parseHelper } from 'langium/test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/language/generated/ast.js';
import { createVtopoServices } from '../../src/language/vtopo-module.js';
import { documentModels } from '../../server/live/model.js';
import { buildTree, type TreeNode } from '../../src/extension/tree-model.js';
import { buildGraph } from '../../src/extension/graph-model.js';
import { layoutGraph } from '../../src/extension/graph-layout.js';
import { statusText } from '../../src/extension/status-bar-text.js';
import { graphHtml } from '../../src/extension/graph-html.js';
import type { TopologyModel } from '../../src/core/lsp-protocol.js';
import type { FabricHostStatus, Status } from '../../src/core/status.js';

let model: TopologyModel;

beforeAll(async () => {
    const parse = parseHelper<Model>(createVtopoServices(EmptyFileSystem).Vtopo);
    const doc = await parse(readFileSync('test/fixtures/design-example.vtopo', 'utf8'));
    [model] = documentModels(doc.parseResult.value, 'file:///x/lab.vtopo', '/x/lab.vtopo');
});

function deployed(): Status {
    const port = (id: string, link: 'up' | 'down') => ({
        id, vm: id.split('.')[0], port: 'eth0', bridge: 'br0', datapath: 'embedded' as const, link, vhost: 'connected' as const,
        rx_packets: 12_345, tx_packets: 7, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [],
    });
    return {
        topology: 'lab', file: '/x/lab.vtopo', deployed: true, at: 'now',
        datapaths: [{ kind: 'embedded', running: true }],
        vms: [{ name: 'web', state: 'running', accel: 'tcg' }, { name: 'db', state: 'crashed', reason: 'killed' }],
        ports: [port('web.eth0', 'up'), port('db.eth0', 'down')],
    };
}

const find = (nodes: TreeNode[], id: string): TreeNode | undefined => {
    for (const n of nodes) {
        if (n.id.endsWith(id)) return n;
        const c = find(n.children, id);
        if (c) return c;
    }
    return undefined;
};

describe('tree model', () => {
    it('lists topologies → bridges → ports and VMs → ports, without live state when not deployed', () => {
        const [t] = buildTree([{ model }]);
        expect(t.label).toBe('lab');
        expect(t.description).toBe('unknown');
        expect(t.children.map((c) => `${c.kind}:${c.label}`)).toEqual(['bridge:br0', 'bridge:br1', 'vm:web', 'vm:db']);
        expect(find([t], '/bridge/br0')!.children.map((c) => c.label)).toEqual(['nic uplink', 'web.eth0', 'db.eth0', 'link → br1']);
        expect(find([t], '/vm/web')!.children.map((c) => c.label)).toEqual(['eth0']);
        expect(find([t], '/vm/web')!.icon.color).toBeUndefined();
    });

    it('shows live VM state, link icons and counters while deployed', () => {
        const [t] = buildTree([{ model, status: deployed() }]);
        expect(t.description).toBe('deployed · 1/2 VMs running · 1 exited');
        const web = find([t], '/vm/web')!;
        expect(web.description).toBe('running (tcg)');
        expect(web.icon).toEqual({ id: 'vm-running', color: 'testing.iconPassed' });
        expect(find([t], '/vm/db')!.icon.id).toBe('error');
        const p = find([t], '/vm/web/web.eth0')!;
        expect(p.description).toBe('up · rx 12k tx 7 drop 0');
        expect(find([t], '/vm/db/db.eth0')!.icon.id).toBe('debug-disconnect');
        expect(t.icon.color).toBe('testing.iconFailed');
    });
});

describe('links in the tree and the graph', () => {
    it('shows a link\'s state and each direction\'s packets and losses, from the side of the bridge it is under', () => {
        const s: Status = {
            ...deployed(),
            links: [{
                id: 'br0--br1', datapath: 'embedded', link: 'up', directions: [
                    { from: 'br0', to: 'br1', packets: 120, bytes: 0, drops: 0, impair: { set: { lossPct: 50 }, delayed: 0, dropped_loss: 120, dropped_limit: 0, duplicated: 0, reordered: 0, backlog: 0 } },
                    { from: 'br1', to: 'br0', packets: 7, bytes: 0, drops: 0 },
                ],
            }],
        };
        const [t] = buildTree([{ model, status: s }]);
        const l0 = find([t], '/bridge/br0/link/br0--br1')!;
        expect(l0.description).toBe('up · out 120 (lost 120) · in 7');
        expect(l0.tooltip).toContain('br0 → br1: 120 pkts');
        expect(l0.tooltip).toContain('impair loss 50%: delayed 0, lost 120');
        expect(find([t], '/bridge/br1/link/br0--br1')!.description).toBe('up · out 7 · in 120 (lost 120)');
        const down = buildGraph({ model, status: { ...s, links: [{ ...s.links![0], link: 'down', admin: 'down' }] } });
        expect(down.edges.find((e) => e.id === 'link:br0--br1')).toMatchObject({ state: 'down', label: 'link (impaired)' });
    });
});

describe('graph model and elk layout', () => {
    it('has NIC, bridge and VM nodes and port/nic/link edges coloured by live state', async () => {
        const g = buildGraph({ model, status: deployed() });
        expect(g.nodes.map((n) => n.id).sort()).toEqual(['bridge:br0', 'bridge:br1', 'nic:uplink', 'vm:db', 'vm:web']);
        expect(g.edges.map((e) => `${e.id}:${e.state}`).sort()).toEqual(['link:br0--br1:up', 'nic:uplink:down', 'port:db.eth0:down', 'port:web.eth0:up']);
        expect(g.edges.find((e) => e.id === 'port:web.eth0')!.label).toBe('eth0 ×2');
        const laid = await layoutGraph(g);
        expect(laid.width).toBeGreaterThan(0);
        // Every node placed without overlap, every edge routed between its ends.
        for (const a of laid.nodes) {
            for (const b of laid.nodes) {
                if (a === b) continue;
                const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
                expect(overlap, `${a.id} overlaps ${b.id}`).toBe(false);
            }
        }
        for (const e of laid.edges) expect(e.points.length, e.id).toBeGreaterThanOrEqual(2);
        expect(buildGraph({ model }).edges.every((e) => e.state === 'unknown')).toBe(true);
    });
});

describe('status bar text', () => {
    it('summarises the active topology and flags exited guests', () => {
        expect(statusText([{ model }], undefined)).toBeUndefined();
        const s = statusText([{ model, status: deployed() }], 'file:///x/lab.vtopo')!;
        expect(s.text).toBe('$(warning) lab: 1/2 VMs up');
        expect(s.error).toBe(true);
    });
});

describe('graph webview page', () => {
    it('carries a CSP with the nonce and a script that parses', () => {
        const html = graphHtml('abc123', 'vscode-resource:');
        expect(html).toContain("script-src 'nonce-abc123'");
        const script = /<script nonce="abc123">([\s\S]*?)<\/script>/.exec(html)?.[1];
        expect(script).toBeTruthy();
        expect(() => new Function(script!)).not.toThrow();
    });
});

describe('multi-host topologies in the tree and the graph', () => {
    let campus: TopologyModel;
    beforeAll(async () => {
        const parse = parseHelper<Model>(createVtopoServices(EmptyFileSystem).Vtopo);
        // The example with h3 made an ssh host: its guest runs on another machine.
        const text = readFileSync('examples/multi-host.vtopo', 'utf8')
            .replace('host h3 { netns  underlay 172.31.0.3/24 }', 'host h3 { ssh "root@172.31.0.3"  underlay 172.31.0.3/24  uplink af_packet "eth1" }');
        const doc = await parse(text);
        [campus] = documentModels(doc.parseResult.value, 'file:///x/campus.vtopo', '/x/campus.vtopo');
    });

    function campusStatus(): Status {
        const tunnel = (peer: string, link: 'up' | 'down') => ({ port: `ovn-${peer}-0`, type: 'geneve', remote_ip: '172.31.0.9', peer, link });
        const host = (name: string, over: Partial<FabricHostStatus> = {}): FabricHostStatus => ({
            name, chassis: `campus-${name}`, chassis_registered: true, controller: 'running', ovs: true, tunnels: [tunnel('hx', 'up')], ...over,
        });
        const port = (id: string) => ({ id, vm: id.split('.')[0], port: 'eth0', bridge: 'web', datapath: 'ovs' as const, link: 'up' as const, rx_packets: 1, tx_packets: 1, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [] });
        return {
            topology: 'campus', file: '/x/campus.vtopo', deployed: true, at: 'now',
            datapaths: [{ kind: 'ovs', running: true }],
            vms: [{ name: 'a', state: 'running', accel: 'tcg' }, { name: 'b', state: 'running', accel: 'tcg' }],
            ports: [port('a.eth0'), port('b.eth0')],
            fabric: {
                central: { kind: 'private', nb: true, sb: true, northd: true },
                hosts: [host('h1'), host('h2', { controller: 'stopped', tunnels: [tunnel('h1', 'down')] }), host('h3', { controller: 'remote', reachable: true })],
                ports: [
                    { name: 'a.eth0', switch: 'web', vm: 'a', host: 'h1', up: true },
                    { name: 'b.eth0', switch: 'web', vm: 'b', host: 'h2', up: false },
                    { name: 'c.eth0', switch: 'db', vm: 'c', host: 'h3', up: true },
                ],
            },
        };
    }

    it('reads hosts (with their kind), routers and each VM\'s host from the file', () => {
        expect(campus.hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(['h1:local', 'h2:netns', 'h3:ssh']);
        expect(campus.routers).toEqual([expect.objectContaining({ name: 'edge', ports: [{ bridge: 'web', network: '10.0.1.254/24' }, { bridge: 'db', network: '10.0.2.254/24' }] })]);
        expect(campus.vms.map((v) => `${v.name}@${v.host}`)).toEqual(['a@h1', 'b@h2', 'c@h3']);
    });

    it('groups VMs under their host, lists the router with its switch ports, and shows each host\'s health', () => {
        const [t] = buildTree([{ model: campus }]);
        expect(t.children.map((c) => `${c.kind}:${c.label}`)).toEqual(['bridge:web', 'bridge:db', 'router:edge', 'host:h1', 'host:h2', 'host:h3']);
        expect(find([t], '/router/edge')!.children.map((c) => c.label)).toEqual(['web 10.0.1.254/24', 'db 10.0.2.254/24']);
        expect(find([t], '/host/h2')!.children.map((c) => `${c.label}@${c.host}`)).toEqual(['b@h2']);
        expect(find([t], '/host/h3')!.description).toBe('ssh root@172.31.0.3');

        const [live] = buildTree([{ model: campus, status: campusStatus() }]);
        expect(find([live], '/host/h1')!.icon.color).toBe('testing.iconPassed');
        const h2 = find([live], '/host/h2')!;
        expect(h2.description).toBe('simulated (netns) · ovn-controller stopped · tunnels 0/1 up');
        expect(h2.icon.color).toBe('testing.iconFailed');
        expect(live.icon.color).toBe('testing.iconFailed');
        // h3's guest runs over there: its binding, not "absent".
        expect(find([live], '/host/h3/vm/c')!.description).toBe('on h3 · ports bound');
        expect(find([live], '/host/h3')!.description).toBe('ssh root@172.31.0.3 · remote · tunnels 1/1 up');
    });

    it('draws each host as a box around its guests, and the router with an edge to each of its switches', async () => {
        const g = buildGraph({ model: campus, status: campusStatus() });
        expect(g.nodes.filter((n) => n.kind === 'host').map((n) => `${n.id}:${n.state}`)).toEqual(['host:h1:up', 'host:h2:down', 'host:h3:up']);
        expect(g.nodes.find((n) => n.id === 'vm:c')).toMatchObject({ parent: 'host:h3', detail: 'on h3', state: 'up' });
        expect(g.edges.filter((e) => e.kind === 'router-port').map((e) => `${e.source}→${e.target} ${e.label}`))
            .toEqual(['router:edge→bridge:web 10.0.1.254/24', 'router:edge→bridge:db 10.0.2.254/24']);
        expect(g.edges.find((e) => e.id === 'port:b.eth0')!.state).toBe('down');

        const laid = await layoutGraph(g);
        const byId = new Map(laid.nodes.map((n) => [n.id, n]));
        const inside = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
            a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
        for (const n of laid.nodes.filter((x) => x.parent)) expect(inside(n, byId.get(n.parent!)!), `${n.id} in ${n.parent}`).toBe(true);
        const boxes = laid.nodes.filter((n) => n.kind !== 'host' && !n.parent).concat(laid.nodes.filter((n) => n.kind === 'host'));
        for (const a of boxes) {
            for (const b of boxes) {
                if (a === b) continue;
                const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
                expect(overlap, `${a.id} overlaps ${b.id}`).toBe(false);
            }
        }
        // Edges out of a host box start at the guest inside it (coordinates in one frame).
        const near = (p: { x: number; y: number }, n: { x: number; y: number; width: number; height: number }) =>
            p.x >= n.x - 2 && p.x <= n.x + n.width + 2 && p.y >= n.y - 2 && p.y <= n.y + n.height + 2;
        for (const e of laid.edges) {
            expect(e.points.length, e.id).toBeGreaterThanOrEqual(2);
            const [s, t] = [byId.get(e.source)!, byId.get(e.target)!];
            const ends = [e.points[0], e.points[e.points.length - 1]];
            expect(ends.some((p) => near(p, s)) && ends.some((p) => near(p, t)), `${e.id} joins ${e.source} and ${e.target}: ${JSON.stringify(ends)}`).toBe(true);
        }
    });
});
