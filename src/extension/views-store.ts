/**
 * The client's copy of what the server knows: every topology with its last
 * pushed Status. Refreshed when the server says something changed (status
 * push or document edit), never on a timer.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import { StatusNotification, TopologiesChangedNotification, TopologiesRequest, type TopologyView } from '../core/lsp-protocol.js';

export class ViewsStore implements vscode.Disposable {
    private views: TopologyView[] = [];
    private readonly emitter = new vscode.EventEmitter<TopologyView[]>();
    private timer: NodeJS.Timeout | undefined;
    private readonly subs: vscode.Disposable[] = [];
    readonly onDidChange = this.emitter.event;

    constructor(private readonly client: LanguageClient) {
        this.subs.push(client.onNotification(StatusNotification, () => this.schedule(50)));
        this.subs.push(client.onNotification(TopologiesChangedNotification, () => this.schedule(200)));
    }

    all(): TopologyView[] {
        return this.views;
    }

    forUri(uri: string): TopologyView[] {
        return this.views.filter((v) => v.model.uri === uri);
    }

    /** Coalesces bursts (a deploy pushes several statuses in a row) into one request. */
    schedule(delayMs: number): void {
        if (this.timer) return;
        this.timer = setTimeout(() => { this.timer = undefined; void this.refresh(); }, delayMs);
    }

    async refresh(recheck = false): Promise<TopologyView[]> {
        try {
            this.views = await this.client.sendRequest(TopologiesRequest, recheck ? { recheck } : {});
            this.emitter.fire(this.views);
        } catch {
            // The server is restarting; the next notification refreshes again.
        }
        return this.views;
    }

    dispose(): void {
        if (this.timer) clearTimeout(this.timer);
        for (const s of this.subs) s.dispose();
        this.emitter.dispose();
    }
}
