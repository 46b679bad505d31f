/** Deploy, destroy and plan: the commands that run the reconcile on the server. */
import * as vscode from 'vscode';
import { call, showError } from '../client.js';
import { DeployRequest, DestroyRequest, PlanRequest } from '../../core/lsp-protocol.js';
import { command } from './command.js';

export const deployCommands = [
    command('vtopo.deploy', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg);
        if (!t) return;
        await ctx.saved(t.uri);
        try {
            const r = await ctx.withSteps(`vtopo: deploying ${ctx.nameOf(t)}`, (progressId) => call(ctx.client, DeployRequest, { uri: t.uri, progressId }));
            await ctx.store.refresh();
            const running = r.status.vms.filter((v) => v.state === 'running').length;
            ctx.output.appendLine(`deployed ${r.status.topology}: ${r.applied.length} actions, ${running}/${r.status.vms.length} VMs running`);
            void vscode.window.showInformationMessage(`vtopo: deployed ${r.status.topology} — ${running}/${r.status.vms.length} VMs running, ${r.applied.length} actions applied.`);
        } catch (err) {
            await showError('deploy', err, ctx.output);
        }
    }),

    command('vtopo.destroy', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        try {
            await ctx.withSteps(`vtopo: destroying ${ctx.nameOf(t)}`, (progressId) => call(ctx.client, DestroyRequest, { uri: t.uri, progressId }));
            await ctx.store.refresh();
            void vscode.window.showInformationMessage(`vtopo: destroyed ${ctx.nameOf(t)}.`);
        } catch (err) {
            await showError('destroy', err, ctx.output);
        }
    }),

    command('vtopo.plan', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg);
        if (!t) return;
        await ctx.saved(t.uri);
        try {
            const r = await ctx.withSteps(`vtopo: planning ${ctx.nameOf(t)}`, (progressId) => call(ctx.client, PlanRequest, { uri: t.uri, progressId }));
            await ctx.showText(`# vtopo plan: ${ctx.nameOf(t)} (${r.actions.length} actions)\n\n${r.text.trimEnd()}\n`);
        } catch (err) {
            await showError('plan', err, ctx.output);
        }
    }),
];
