/**
 * VS Code entry point: starts the language server (which hosts the runtime)
 * and wires the commands, the tree, the status bar and the graph to it.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import { createClient } from './client.js';
import { registerCommands } from './commands/index.js';
import { createStatusBar } from './status-bar.js';
import { TopologyTree } from './tree.js';
import { ViewsStore } from './views-store.js';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const output = vscode.window.createOutputChannel('vtopo');
    context.subscriptions.push(output);
    client = createClient(context);
    const store = new ViewsStore(client);
    context.subscriptions.push(store);
    const tree = new TopologyTree(store);
    context.subscriptions.push(tree, vscode.window.createTreeView('vtopo.topologies', { treeDataProvider: tree, showCollapseAll: true }));
    context.subscriptions.push(createStatusBar(store));
    registerCommands(context, client, store, output);
    await client.start();
    // Langium builds every workspace .vtopo at start, so the tree lists files not opened yet.
    await store.refresh();
}

export async function deactivate(): Promise<void> {
    await client?.stop();
}
