/** A guest's serial console, and packet captures on a port into a pcap file. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { call, showError } from '../client.js';
import { openConsole } from '../console.js';
import { CaptureStartRequest, CaptureStopRequest, ConsoleReleaseNotification, ConsoleRequest } from '../../core/lsp-protocol.js';
import { command } from './command.js';

export const consoleCaptureCommands = [
    command('vtopo.openConsole', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        let vm = t.node?.vm;
        if (!vm) {
            const vms = t.view?.model.vms.map((v) => v.name) ?? [];
            vm = vms.length === 1 ? vms[0] : await vscode.window.showQuickPick(vms, { placeHolder: 'Console of which guest?' });
        }
        if (!vm) return;
        try {
            const c = await call(ctx.client, ConsoleRequest, { uri: t.uri, vm });
            const uri = t.uri, name = vm;
            openConsole(vm, c.socket, () => void ctx.client.sendNotification(ConsoleReleaseNotification, { uri, vm: name }));
        } catch (err) {
            await showError('console', err, ctx.output);
        }
    }),

    command('vtopo.capture', async (ctx, arg?: unknown) => {
        const t = await ctx.target(arg, true);
        if (!t) return;
        let port = t.node?.kind === 'port' && t.node.vm ? `${t.node.vm}.${t.node.port}` : t.node?.kind === 'nic' ? t.node.port : undefined;
        if (!port) {
            const ids = [...(t.view?.model.vms.flatMap((v) => v.ports.map((p) => p.id)) ?? []), ...(t.view?.model.nics.map((n) => n.name) ?? [])];
            port = await vscode.window.showQuickPick(ids, { placeHolder: 'Capture on which port?' });
        }
        if (!port) return;
        const dir = vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(t.uri))?.uri.fsPath ?? path.dirname(vscode.Uri.parse(t.uri).fsPath);
        const file = path.join(dir, `${port.replace(/[^\w.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}.pcap`);
        try {
            await call(ctx.client, CaptureStartRequest, { uri: t.uri, port, file });
            ctx.output.appendLine(`capturing on ${port} into ${file}`);
            // Cancel on the progress, or "vtopo: Stop Capture" (the toast may have folded into the status bar), ends it.
            const key = `${t.uri}#${port}`;
            await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `vtopo: capturing on ${port}`, cancellable: true }, (progress, token) => {
                progress.report({ message: `into ${path.basename(file)}; Cancel or "vtopo: Stop Capture" ends it` });
                return new Promise<void>((resolve) => {
                    ctx.captures.set(key, { label: `${port} → ${path.basename(file)}`, stop: resolve });
                    token.onCancellationRequested(() => resolve());
                });
            });
            ctx.captures.delete(key);
            const r = await call(ctx.client, CaptureStopRequest, { uri: t.uri, port });
            const written = r.file || file;
            const pick = await vscode.window.showInformationMessage(`vtopo: wrote ${path.basename(written)}${r.packets !== undefined ? ` (${r.packets} packets)` : ''}`, 'Open', 'Reveal in Explorer');
            if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(written));
            if (pick === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(written));
        } catch (err) {
            await showError('capture', err, ctx.output);
        }
    }),

    command('vtopo.stopCapture', async (ctx) => {
        const all = [...ctx.captures.values()];
        if (!all.length) {
            void vscode.window.showInformationMessage('vtopo: no capture is running.');
            return;
        }
        const pick = all.length === 1 ? all[0] : (await vscode.window.showQuickPick(all.map((c) => ({ label: c.label, c })), { placeHolder: 'Stop which capture?' }))?.c;
        pick?.stop();
    }),
];
