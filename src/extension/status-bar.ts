/** The status bar item: the deployed state of the topology in the active editor (or of all deployed ones). */
import * as vscode from 'vscode';
import { statusText } from './status-bar-text.js';
import type { ViewsStore } from './views-store.js';

export function createStatusBar(store: ViewsStore): vscode.Disposable {
    const item = vscode.window.createStatusBarItem('vtopo.status', vscode.StatusBarAlignment.Left, 50);
    item.name = 'vtopo';
    item.command = 'vtopo.showStatus';
    const render = () => {
        const uri = vscode.window.activeTextEditor?.document.uri.toString();
        const s = statusText(store.all(), uri);
        if (!s) { item.hide(); return; }
        item.text = s.text;
        item.tooltip = s.tooltip;
        item.backgroundColor = s.error ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
        item.show();
    };
    const subs = [store.onDidChange(render), vscode.window.onDidChangeActiveTextEditor(render)];
    return { dispose: () => { for (const s of subs) s.dispose(); item.dispose(); } };
}
