/**
 * The topology graph webview: one panel per topology, re-laid out when the
 * topology's shape or live state changes; clicking a node or edge reveals
 * its declaration.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { graphHtml } from './graph-html.js';
import { layoutView, type LaidOutGraph } from './graph-layout.js';
import type { TopologyView } from '../core/lsp-protocol.js';
import type { ViewsStore } from './views-store.js';

export type Reveal = (uri: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }) => Promise<void>;

const panels = new Map<string, GraphPanel>();

export function showGraph(store: ViewsStore, view: TopologyView, reveal: Reveal): void {
    const key = `${view.model.uri}#${view.model.name}`;
    const open = panels.get(key);
    if (open) { open.panel.reveal(); return; }
    panels.set(key, new GraphPanel(key, store, view, reveal));
}

class GraphPanel {
    readonly panel: vscode.WebviewPanel;
    private graph: LaidOutGraph | undefined;
    private ready = false;
    private readonly subs: vscode.Disposable[] = [];
    private lastKey = '';

    constructor(private readonly key: string, store: ViewsStore, private view: TopologyView, private readonly reveal: Reveal) {
        this.panel = vscode.window.createWebviewPanel('vtopo.graph', `vtopo graph: ${view.model.name}`, vscode.ViewColumn.Beside, { enableScripts: true, retainContextWhenHidden: true });
        this.panel.webview.html = graphHtml(randomBytes(16).toString('base64'), this.panel.webview.cspSource);
        this.subs.push(this.panel.webview.onDidReceiveMessage((m: { type: string; id?: string }) => this.onMessage(m)));
        this.subs.push(store.onDidChange((views) => {
            const v = views.find((x) => x.model.uri === view.model.uri && x.model.name === view.model.name);
            if (v) { this.view = v; void this.update(); }
        }));
        this.panel.onDidDispose(() => {
            panels.delete(this.key);
            for (const s of this.subs) s.dispose();
        });
        void this.update();
    }

    private async update(): Promise<void> {
        // Statuses arrive every few seconds; only re-layout when something drawn changed.
        const k = JSON.stringify(this.view);
        if (k === this.lastKey && this.graph) return;
        this.lastKey = k;
        try {
            this.graph = await layoutView(this.view);
            if (this.ready) void this.panel.webview.postMessage({ type: 'graph', graph: this.graph });
        } catch (err) {
            void this.panel.webview.postMessage({ type: 'error', error: `layout failed: ${err instanceof Error ? err.message : String(err)}` });
        }
    }

    private onMessage(m: { type: string; id?: string }): void {
        if (m.type === 'ready') {
            this.ready = true;
            if (this.graph) void this.panel.webview.postMessage({ type: 'graph', graph: this.graph });
            return;
        }
        if (m.type === 'reveal' && this.graph) {
            const hit = this.graph.nodes.find((n) => n.id === m.id) ?? this.graph.edges.find((e) => e.id === m.id);
            if (hit) void this.reveal(this.view.model.uri, hit.range);
        }
    }
}
