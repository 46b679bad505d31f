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
import type { Status } from '../../src/core/status.js';

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
