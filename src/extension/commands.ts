/**
 * The palette commands. Each resolves which topology it acts on (tree
 * item, explorer file, active editor, or a pick), saves it, asks the server
 * (which runs the same runtime as the CLI) and renders the answer.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import { call, showError } from './client.js';
import { openConsole } from './console.js';
import { showGraph } from './graph-panel.js';
import {
    CaptureStartRequest, CaptureStopRequest, ConsoleRequest, DeployRequest, DestroyRequest, ExportRequest, PlanRequest,
    ProgressNotification, StatusRequest, VerifyRequest, type ExportFormat, type Range, type TopologyView,
} from '../core/lsp-protocol.js';
import { formatStatusText, formatVerifyText } from './text.js';
import type { TreeNode } from './tree-model.js';
import type { ViewsStore } from './views-store.js';

type Target = { uri: string; view?: TopologyView; node?: TreeNode };

export function registerCommands(context: vscode.ExtensionContext, client: LanguageClient, store: ViewsStore, output: vscode.OutputChannel): void {
    const progressSinks = new Map<string, (message: string) => void>();
    const captures = new Map<string, { label: string; stop: () => void }>();
    context.subscriptions.push(client.onNotification(ProgressNotification, ({ progressId, event }) => {
        if (event.phase !== 'done') output.appendLine(`  ${event.step}: ${event.message}`);
        progressSinks.get(progressId)?.(event.message);
    }));

    const reveal = async (uri: string, r: Range) => {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
        const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
        await vscode.window.showTextDocument(doc, { selection: range, viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    };

    // Commands run from the graph or a terminal still mean the topology last edited.
    let lastVtopo: string | undefined = vscode.window.activeTextEditor?.document.languageId === 'vtopo' ? vscode.window.activeTextEditor.document.uri.toString() : undefined;
    context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor((ed) => {
        if (ed?.document.languageId === 'vtopo') lastVtopo = ed.document.uri.toString();
    }));

    async function target(arg: unknown, deployedOnly = false): Promise<Target | undefined> {
        if (arg && typeof arg === 'object' && 'kind' in arg && 'uri' in arg) {
            const node = arg as TreeNode;
            return { uri: node.uri, node, view: store.forUri(node.uri)[0] };
        }
        if (arg instanceof vscode.Uri) return { uri: arg.toString(), view: store.forUri(arg.toString())[0] };
        const ed = vscode.window.activeTextEditor;
        if (ed?.document.languageId === 'vtopo') return { uri: ed.document.uri.toString(), view: store.forUri(ed.document.uri.toString())[0] };
        if (lastVtopo && vscode.workspace.textDocuments.some((d) => d.uri.toString() === lastVtopo)) return { uri: lastVtopo, view: store.forUri(lastVtopo)[0] };
        let views = store.all().length ? store.all() : await store.refresh();
        if (deployedOnly && views.some((v) => v.status?.deployed)) views = views.filter((v) => v.status?.deployed);
        if (!views.length) {
            void vscode.window.showWarningMessage('vtopo: no topology found. Fix: open a .vtopo file or add one to the workspace.');
            return undefined;
        }
        if (views.length === 1) return { uri: views[0].model.uri, view: views[0] };
        const pick = await vscode.window.showQuickPick(views.map((v) => ({
            label: v.model.name, description: v.status?.deployed ? 'deployed' : '', detail: vscode.workspace.asRelativePath(vscode.Uri.parse(v.model.uri)), v,
        })), { placeHolder: 'Which topology?' });
        return pick ? { uri: pick.v.model.uri, view: pick.v } : undefined;
    }

    /** The runtime reads the file from disk: unsaved edits would deploy something else than what is shown. */
    async function saved(uri: string): Promise<void> {
        const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
        if (doc?.isDirty) await doc.save();
    }

    function nameOf(t: Target): string {
        return t.view?.model.name ?? path.basename(vscode.Uri.parse(t.uri).fsPath);
    }

    async function withSteps<R>(title: string, fn: (progressId: string) => Promise<R>): Promise<R> {
        const progressId = randomUUID();
        output.appendLine(`${new Date().toISOString()} ${title}`);
        return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: false }, async (progress) => {
            progressSinks.set(progressId, (message) => progress.report({ message }));
            try {
                return await fn(progressId);
            } finally {
                progressSinks.delete(progressId);
            }
        });
    }

    async function showText(content: string, language = 'plaintext'): Promise<void> {
        const doc = await vscode.workspace.openTextDocument({ content, language });
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
    }

    const reg = (id: string, fn: (arg?: unknown) => Promise<void>) =>
        context.subscriptions.push(vscode.commands.registerCommand(id, fn));

    reg('vtopo.deploy', async (arg) => {
        const t = await target(arg);
        if (!t) return;
        await saved(t.uri);
        try {
            const r = await withSteps(`vtopo: deploying ${nameOf(t)}`, (progressId) => call(client, DeployRequest, { uri: t.uri, progressId }));
            await store.refresh();
            const running = r.status.vms.filter((v) => v.state === 'running').length;
            output.appendLine(`deployed ${r.status.topology}: ${r.applied.length} actions, ${running}/${r.status.vms.length} VMs running`);
            void vscode.window.showInformationMessage(`vtopo: deployed ${r.status.topology} — ${running}/${r.status.vms.length} VMs running, ${r.applied.length} actions applied.`);
        } catch (err) {
            await showError('deploy', err, output);
        }
    });

    reg('vtopo.destroy', async (arg) => {
        const t = await target(arg, true);
        if (!t) return;
        try {
            await withSteps(`vtopo: destroying ${nameOf(t)}`, (progressId) => call(client, DestroyRequest, { uri: t.uri, progressId }));
            await store.refresh();
            void vscode.window.showInformationMessage(`vtopo: destroyed ${nameOf(t)}.`);
        } catch (err) {
            await showError('destroy', err, output);
        }
    });

    reg('vtopo.plan', async (arg) => {
        const t = await target(arg);
        if (!t) return;
        await saved(t.uri);
        try {
            const r = await withSteps(`vtopo: planning ${nameOf(t)}`, (progressId) => call(client, PlanRequest, { uri: t.uri, progressId }));
            await showText(`# vtopo plan: ${nameOf(t)} (${r.actions.length} actions)\n\n${r.text.trimEnd()}\n`);
        } catch (err) {
            await showError('plan', err, output);
        }
    });

    reg('vtopo.verify', async (arg) => {
        const t = await target(arg, true);
        if (!t) return;
        try {
            const r = await withSteps(`vtopo: verifying ${nameOf(t)}`, (progressId) => call(client, VerifyRequest, { uri: t.uri, progressId }));
            const text = formatVerifyText(r);
            output.appendLine(text);
            const bad = r.pairs.filter((p) => !p.ok);
            if (bad.length) {
                const pick = await vscode.window.showWarningMessage(`vtopo: ${bad.length} of ${r.pairs.length} pairs unreachable: ${bad.slice(0, 3).map((p) => `${p.from} → ${p.to}`).join(', ')}`, 'Show Details');
                if (pick) output.show(true);
            } else {
                // The time keeps a re-run's result from being merged into an identical earlier notification (VS Code shows no new toast then).
                const slowest = Math.max(0, ...r.pairs.map((p) => p.rtt_ms ?? 0));
                void vscode.window.showInformationMessage(`vtopo: all ${r.pairs.length} pairs reachable (slowest ${slowest.toFixed(1)} ms, ${new Date().toLocaleTimeString()}).`);
            }
        } catch (err) {
            await showError('verify', err, output);
        }
    });

    reg('vtopo.export', async (arg) => {
        const t = await target(arg);
        if (!t) return;
        const formats: { label: ExportFormat; detail: string }[] = [
            { label: 'ovs-vsctl', detail: 'shell script creating the bridges and ports on Open vSwitch' },
            { label: 'qemu', detail: 'QEMU command lines for each guest' },
            { label: 'libvirt', detail: 'libvirt domain XML for each guest' },
        ];
        const f = (arg as { format?: ExportFormat } | undefined)?.format ?? (await vscode.window.showQuickPick(formats, { placeHolder: 'Export as' }))?.label;
        if (!f) return;
        await saved(t.uri);
        try {
            const r = await call(client, ExportRequest, { uri: t.uri, format: f });
            await showText(r.text, r.language);
        } catch (err) {
            await showError('export', err, output);
        }
    });

    reg('vtopo.showStatus', async (arg) => {
        const t = await target(arg, true);
        if (!t) return;
        try {
            const s = await call(client, StatusRequest, { uri: t.uri });
            await store.refresh();
            await showText(formatStatusText(s));
        } catch (err) {
            await showError('status', err, output);
        }
    });

    reg('vtopo.openConsole', async (arg) => {
        const t = await target(arg, true);
        if (!t) return;
        let vm = t.node?.vm;
        if (!vm) {
            const vms = t.view?.model.vms.map((v) => v.name) ?? [];
            vm = vms.length === 1 ? vms[0] : await vscode.window.showQuickPick(vms, { placeHolder: 'Console of which guest?' });
        }
        if (!vm) return;
        try {
            const c = await call(client, ConsoleRequest, { uri: t.uri, vm });
            openConsole(vm, c.socket);
        } catch (err) {
            await showError('console', err, output);
        }
    });

    reg('vtopo.capture', async (arg) => {
        const t = await target(arg, true);
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
            await call(client, CaptureStartRequest, { uri: t.uri, port, file });
            output.appendLine(`capturing on ${port} into ${file}`);
            // Cancel on the progress, or "vtopo: Stop Capture" (the toast may have folded into the status bar), ends it.
            const key = `${t.uri}#${port}`;
            await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `vtopo: capturing on ${port}`, cancellable: true }, (progress, token) => {
                progress.report({ message: `into ${path.basename(file)}; Cancel or "vtopo: Stop Capture" ends it` });
                return new Promise<void>((resolve) => {
                    captures.set(key, { label: `${port} → ${path.basename(file)}`, stop: resolve });
                    token.onCancellationRequested(() => resolve());
                });
            });
            captures.delete(key);
            const r = await call(client, CaptureStopRequest, { uri: t.uri, port });
            const written = r.file || file;
            const pick = await vscode.window.showInformationMessage(`vtopo: wrote ${path.basename(written)}${r.packets !== undefined ? ` (${r.packets} packets)` : ''}`, 'Open', 'Reveal in Explorer');
            if (pick === 'Open') await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(written));
            if (pick === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(written));
        } catch (err) {
            await showError('capture', err, output);
        }
    });

    reg('vtopo.stopCapture', async () => {
        const all = [...captures.values()];
        if (!all.length) {
            void vscode.window.showInformationMessage('vtopo: no capture is running.');
            return;
        }
        const pick = all.length === 1 ? all[0] : (await vscode.window.showQuickPick(all.map((c) => ({ label: c.label, c })), { placeHolder: 'Stop which capture?' }))?.c;
        pick?.stop();
    });

    reg('vtopo.showGraph', async (arg) => {
        const t = await target(arg);
        if (!t) return;
        const view = t.view ?? (await store.refresh()).find((v) => v.model.uri === t.uri);
        if (!view) {
            void vscode.window.showWarningMessage('vtopo: this file declares no topology yet. Fix: add `topology NAME { … }`.');
            return;
        }
        showGraph(store, view, reveal);
    });

    reg('vtopo.refresh', async () => { await store.refresh(true); });

    context.subscriptions.push(vscode.commands.registerCommand('vtopo.reveal', (uri: string, sl: number, sc: number, el: number, ec: number) =>
        reveal(uri, { start: { line: sl, character: sc }, end: { line: el, character: ec } })));
}
