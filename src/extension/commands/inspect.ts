/** Verify and status: read-only questions about a deployed topology. */
import * as vscode from 'vscode';
import { call, showError } from '../client.js';
import { StatusRequest, VerifyRequest } from '../../core/lsp-protocol.js';
import { formatStatusText, formatVerifyText } from '../text.js';
import { command } from './command.js';

export const inspectCommands = [
    command('vtopo.verify', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        try {
            const r = await ctx.withSteps(`vtopo: verifying ${ctx.nameOf(t)}`, (progressId) => call(ctx.client, VerifyRequest, { uri: t.uri, progressId }));
            const text = formatVerifyText(r);
            ctx.output.appendLine(text);
            const bad = r.pairs.filter((p) => !p.ok);
            if (bad.length) {
                const pick = await vscode.window.showWarningMessage(`vtopo: ${bad.length} of ${r.pairs.length} pairs unreachable: ${bad.slice(0, 3).map((p) => `${p.from} → ${p.to}`).join(', ')}`, 'Show Details');
                if (pick) ctx.output.show(true);
            } else {
                // The time keeps a re-run's result from being merged into an identical earlier notification (VS Code shows no new toast then).
                const slowest = Math.max(0, ...r.pairs.map((p) => p.rtt_ms ?? 0));
                void vscode.window.showInformationMessage(`vtopo: all ${r.pairs.length} pairs reachable (slowest ${slowest.toFixed(1)} ms, ${new Date().toLocaleTimeString()}).`);
            }
        } catch (err) {
            await showError('verify', err, ctx.output);
        }
    }),

    command('vtopo.showStatus', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        try {
            const s = await call(ctx.client, StatusRequest, { uri: t.uri });
            await ctx.store.refresh();
            await ctx.showText(formatStatusText(s));
        } catch (err) {
            await showError('status', err, ctx.output);
        }
    }),
];
