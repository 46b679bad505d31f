/** The "vtopo" tree view: tree-model.ts nodes as VS Code TreeItems. */
import * as vscode from 'vscode';
import { buildTree, type TreeNode } from './tree-model.js';
import type { ViewsStore } from './views-store.js';

export class TopologyTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
    private roots: TreeNode[] = [];
    private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
    private readonly sub: vscode.Disposable;
    readonly onDidChangeTreeData = this.emitter.event;

    constructor(store: ViewsStore) {
        this.sub = store.onDidChange((views) => {
            this.roots = buildTree(views);
            this.emitter.fire(undefined);
        });
    }

    getChildren(node?: TreeNode): TreeNode[] {
        return node ? node.children : this.roots;
    }

    getTreeItem(n: TreeNode): vscode.TreeItem {
        const collapsible = n.children.length
            ? (n.kind === 'topology' || n.kind === 'vm' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed)
            : vscode.TreeItemCollapsibleState.None;
        const item = new vscode.TreeItem(n.label, collapsible);
        item.id = n.id;
        item.description = n.description;
        item.tooltip = n.tooltip;
        item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
        item.contextValue = `vtopo.${n.kind}`;
        const r = n.range;
        item.command = {
            command: 'vtopo.reveal', title: 'Reveal declaration',
            arguments: [n.uri, r.start.line, r.start.character, r.end.line, r.end.character],
        };
        return item;
    }

    dispose(): void {
        this.sub.dispose();
        this.emitter.dispose();
    }
}
