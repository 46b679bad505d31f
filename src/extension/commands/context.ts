/**
 * What every command shares: the server connection, the views, the output
 * channel, and the helpers that pick the topology a command acts on (tree
 * item, explorer file, active editor, or a pick) and report its progress.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import { ProgressNotification, type Range, type TopologyView } from '../../core/lsp-protocol.js';
import type { TreeNode } from '../tree-model.js';
import type { ViewsStore } from '../views-store.js';

export type Target = { uri: string; view?: TopologyView; node?: TreeNode };

export interface CommandContext {
    readonly client: LanguageClient;
    readonly store: ViewsStore;
    readonly output: vscode.OutputChannel;
    /** Running captures by `uri#port`; "Stop Capture" resolves one. */
    readonly captures: Map<string, { label: string; stop: () => void }>;
    target(arg: unknown, deployedOnly?: boolean): Promise<Target | undefined>;
    saved(uri: string): Promise<void>;
    nameOf(t: Target): string;
    withSteps<R>(title: string, fn: (progressId: string) => Promise<R>): Promise<R>;
    showText(content: string, language?: string): Promise<void>;
    reveal(uri: string, r: Range): Promise<void>;
}

export function createCommandContext(context: vscode.ExtensionContext, client: LanguageClient, store: ViewsStore, output: vscode.OutputChannel): CommandContext {
    const progressSinks = new Map<string, (message: string) => void>();
    context.subscriptions.push(client.onNotification(ProgressNotification, ({ progressId, event }) => {
        if (event.phase !== 'done') output.appendLine(`  ${event.step}: ${event.message}`);
        progressSinks.get(progressId)?.(event.message);
    }));

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

    async function reveal(uri: string, r: Range): Promise<void> {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
        const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
        await vscode.window.showTextDocument(doc, { selection: range, viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    }

    return { client, store, output, captures: new Map(), target, saved, nameOf, withSteps, showText, reveal };
}
