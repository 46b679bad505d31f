/**
 * The graph webview's page: a small SVG renderer for an already laid-out
 * graph (positions come from elkjs in the extension host). It only draws
 * and reports clicks; the extension reveals declarations.
 */

/** Runs inside the webview (plain JS: the extension's tsconfig has no DOM types). */
const SCRIPT = String.raw`
(function () {
    const vscode = acquireVsCodeApi();
    const NS = 'http://www.w3.org/2000/svg';
    const root = document.getElementById('graph');
    const title = document.getElementById('title');

    function el(name, attrs, parent) {
        const e = document.createElementNS(NS, name);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
        parent.appendChild(e);
        return e;
    }

    function draw(g) {
        title.textContent = g.topology + ' · ' + (g.deployed ? 'deployed' : 'not deployed') + ' · ' + g.nodes.length + ' nodes, ' + g.edges.length + ' edges';
        root.replaceChildren();
        const pad = 20;
        const svg = el('svg', { width: g.width + 2 * pad, height: g.height + 2 * pad, viewBox: (-pad) + ' ' + (-pad) + ' ' + (g.width + 2 * pad) + ' ' + (g.height + 2 * pad) }, root);
        // Host boxes first, so edges and the nodes inside draw over them.
        for (const n of g.nodes) {
            if (n.kind !== 'host') continue;
            const grp = el('g', { class: 'node host state-' + n.state, 'data-id': n.id, transform: 'translate(' + n.x + ',' + n.y + ')' }, svg);
            el('rect', { width: n.width, height: n.height, rx: 6 }, grp);
            const a = el('text', { x: 10, y: 18, class: 'label' }, grp);
            a.textContent = n.label;
            const b = el('text', { x: 10, y: 32, class: 'detail' }, grp);
            b.textContent = n.detail;
            grp.addEventListener('click', () => vscode.postMessage({ type: 'reveal', id: n.id }));
        }
        for (const e of g.edges) {
            if (e.points.length < 2) continue;
            const grp = el('g', { class: 'edge ' + e.kind + ' state-' + e.state, 'data-id': e.id }, svg);
            const pts = e.points.map((p) => p.x + ',' + p.y).join(' ');
            el('polyline', { points: pts }, grp);
            // A wide transparent twin makes thin lines easy to click.
            el('polyline', { class: 'hit', points: pts }, grp);
            if (e.label) {
                const i = Math.max(0, Math.floor((e.points.length - 1) / 2));
                const a = e.points[i], b = e.points[i + 1] || a;
                const t = el('text', { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4, 'text-anchor': 'middle', class: 'edge-label' }, grp);
                t.textContent = e.label;
            }
            grp.addEventListener('click', () => vscode.postMessage({ type: 'reveal', id: e.id }));
        }
        for (const n of g.nodes) {
            if (n.kind === 'host') continue;
            const grp = el('g', { class: 'node ' + n.kind + ' state-' + n.state, 'data-id': n.id, transform: 'translate(' + n.x + ',' + n.y + ')' }, svg);
            el('rect', { width: n.width, height: n.height, rx: n.kind === 'bridge' ? 4 : n.kind === 'router' ? 22 : 10 }, grp);
            const a = el('text', { x: n.width / 2, y: 18, 'text-anchor': 'middle', class: 'label' }, grp);
            a.textContent = n.label;
            const b = el('text', { x: n.width / 2, y: 34, 'text-anchor': 'middle', class: 'detail' }, grp);
            b.textContent = n.detail;
            grp.addEventListener('click', () => vscode.postMessage({ type: 'reveal', id: n.id }));
        }
    }

    window.addEventListener('message', (ev) => {
        const m = ev.data;
        if (m.type === 'graph' && m.graph) draw(m.graph);
        if (m.type === 'error') { title.textContent = m.error || 'error'; root.replaceChildren(); }
    });
    vscode.postMessage({ type: 'ready' });
})();
`;

export function graphHtml(nonce: string, cspSource: string): string {
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<title>vtopo graph</title>
<style>
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 8px; }
  #title { margin-bottom: 8px; opacity: .8; }
  .node rect { fill: var(--vscode-editor-background); stroke: var(--vscode-foreground); stroke-width: 1.5; }
  .node.bridge rect { fill: var(--vscode-editorWidget-background); }
  .node.nic rect { stroke-dasharray: 4 2; }
  .node.host rect { fill: none; stroke-dasharray: 8 4; opacity: .9; }
  .node.router rect { fill: var(--vscode-editorWidget-background); stroke-width: 2.5; }
  .edge.router-port polyline { stroke-dasharray: 2 3; }
  .node { cursor: pointer; }
  .node .label { font-weight: 600; font-size: 13px; fill: var(--vscode-foreground); }
  .node .detail { font-size: 11px; fill: var(--vscode-descriptionForeground); }
  .node.state-up rect { stroke: #3fb950; }
  .node.state-down rect { stroke: #f85149; }
  .edge polyline { fill: none; stroke: #8b949e; stroke-width: 2; }
  .edge.link polyline { stroke-dasharray: 6 3; }
  .edge polyline.hit { stroke: transparent; stroke-width: 12; stroke-dasharray: none; }
  .edge { cursor: pointer; }
  .edge.state-up polyline:not(.hit) { stroke: #3fb950; }
  .edge.state-down polyline:not(.hit) { stroke: #f85149; }
  .edge-label { font-size: 11px; fill: var(--vscode-descriptionForeground); }
</style></head>
<body><div id="title">laying out…</div><div id="graph"></div>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>`;
}
