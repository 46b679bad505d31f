/**
 * Working in a running lab: one guest's Start/Stop/Restart, Exec… (a
 * terminal running `vtopo exec`, so the output streams), and a port's or
 * link's carrier (Link Down/Up). The server runs them (the CLI's functions).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { call, showError, vtopoEnv } from '../client.js';
import { GuestRequest, ImpairRequest, LinkRequest } from '../../core/lsp-protocol.js';
import { parseImpairWords } from '../../core/impair.js';
import type { CommandContext, Target } from './context.js';
import { command } from './command.js';

async function pickVm(t: Target, placeHolder: string): Promise<string | undefined> {
    if (t.node?.vm) return t.node.vm;
    const vms = t.view?.model.vms ?? [];
    if (vms.length === 1) return vms[0].name;
    // On a multi-host file, say where each guest runs: one on an ssh host is acted on there, not here.
    const kinds = new Map((t.view?.model.hosts ?? []).map((h) => [h.name, h.kind]));
    const items = vms.map((v) => ({ label: v.name, description: v.host ? `on ${v.host}${kinds.get(v.host) === 'ssh' ? ' (ssh: run vtopo there with --host)' : ''}` : '' }));
    return (await vscode.window.showQuickPick(items, { placeHolder }))?.label;
}

async function pickPort(t: Target): Promise<string | undefined> {
    const n = t.node;
    if (n?.kind === 'port' && n.vm) return `${n.vm}.${n.port}`;
    if ((n?.kind === 'nic' || n?.kind === 'link') && n.port) return n.port;
    const m = t.view?.model;
    const ids = [...(m?.vms.flatMap((v) => v.ports.map((p) => p.id)) ?? []), ...(m?.nics.map((x) => x.name) ?? []), ...(m?.links.map((l) => l.id) ?? [])];
    return vscode.window.showQuickPick(ids, { placeHolder: 'Which port or link?' });
}

function guest(action: 'start' | 'stop' | 'restart') {
    const verb = action[0].toUpperCase() + action.slice(1);
    return command(`vtopo.${action}Vm`, async (ctx: CommandContext, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        const vm = await pickVm(t, `${verb} which guest?`);
        if (!vm) return;
        try {
            const s = await ctx.withSteps(`vtopo: ${action} ${vm}`, (progressId) => call(ctx.client, GuestRequest, { uri: t.uri, progressId, vm, action }));
            void vscode.window.showInformationMessage(`vtopo: vm ${vm} is ${s.state}`);
        } catch (err) {
            await showError(action, err, ctx.output);
        }
    });
}

function link(up: boolean) {
    return command(up ? 'vtopo.linkUp' : 'vtopo.linkDown', async (ctx: CommandContext, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        const port = await pickPort(t);
        if (!port) return;
        try {
            await call(ctx.client, LinkRequest, { uri: t.uri, port, up });
            ctx.output.appendLine(`${port}: link ${up ? 'up' : 'down'}`);
        } catch (err) {
            await showError(up ? 'link up' : 'link down', err, ctx.output);
        }
    });
}

/** Impair…: the words `vtopo impair` takes after PORT (`delay 20ms loss 1%`, or `clear`), checked as they are typed. */
const impairCommand = command('vtopo.impair', async (ctx: CommandContext, arg?: unknown) => {
    const t = await ctx.target(arg, true);
    if (!t) return;
    const port = await pickPort(t);
    if (!port) return;
    const text = await vscode.window.showInputBox({
        prompt: `Impairment of ${port} (frames towards the guest; a link: both ways), until the next deploy`,
        placeHolder: 'delay 20ms jitter 2ms loss 1% duplicate 0.5% reorder 5% rate 100mbit — or: clear',
        validateInput: (v) => {
            const r = parseImpairWords(v.trim().split(/\s+/).filter(Boolean));
            return 'error' in r ? r.error : r.rest.length ? `not an impairment: ${r.rest.join(' ')}` : undefined;
        },
    });
    if (!text?.trim()) return;
    const r = parseImpairWords(text.trim().split(/\s+/));
    if ('error' in r) return;
    try {
        const done = await call(ctx.client, ImpairRequest, { uri: t.uri, port, impair: r.impair });
        ctx.output.appendLine(done.text);
        void vscode.window.showInformationMessage(`vtopo: ${done.text}`);
    } catch (err) {
        await showError('impair', err, ctx.output);
    }
});

export const labCommands = [
    guest('start'),
    guest('stop'),
    guest('restart'),
    command('vtopo.exec', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        const vm = await pickVm(t, 'Run a command in which guest?');
        if (!vm) return;
        const line = await vscode.window.showInputBox({ prompt: `Command to run in ${vm}`, placeHolder: 'ip addr' });
        if (!line?.trim()) return;
        // vtopo.cliPath, else the bundled CLI next to this bundle (out/); the terminal streams what it prints.
        const own = vscode.workspace.getConfiguration('vtopo').get<string>('cliPath');
        const args = ['exec', vscode.Uri.parse(t.uri).fsPath, vm, '--', ...line.trim().split(/\s+/)];
        const term = vscode.window.createTerminal({
            name: `vtopo exec ${vm}`,
            shellPath: own || process.execPath,
            shellArgs: own ? args : [path.join(__dirname, 'cli.cjs'), ...args],
            env: { ...vtopoEnv(), ELECTRON_RUN_AS_NODE: '1' },
        });
        term.show();
    }),
    link(false),
    link(true),
    impairCommand,
];
