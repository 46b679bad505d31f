/** The topology graph, the tree's refresh, and reveal (the graph's jump to a declaration). */
import * as vscode from 'vscode';
import { showGraph } from '../graph-panel.js';
import { command } from './command.js';

export const graphCommands = [
    command('vtopo.showGraph', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg);
        if (!t) return;
        const view = t.view ?? (await ctx.store.refresh()).find((v) => v.model.uri === t.uri);
        if (!view) {
            void vscode.window.showWarningMessage('vtopo: this file declares no topology yet. Fix: add `topology NAME { … }`.');
            return;
        }
        showGraph(ctx.store, view, ctx.reveal);
    }),

    command('vtopo.refresh', async (ctx) => { await ctx.store.refresh(true); }),

    command('vtopo.reveal', (ctx, uri: string, sl: number, sc: number, el: number, ec: number) =>
        ctx.reveal(uri, { start: { line: sl, character: sc }, end: { line: el, character: ec } })),
];
