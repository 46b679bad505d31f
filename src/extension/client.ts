/**
 * The language client (IPC to the bundled server) and the one way the
 * extension calls the server: `call` unwraps an Outcome and shows runtime
 * failures with their fix.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node.js';
import type { RequestType } from 'vscode-languageserver-protocol';
import type { Outcome, RuntimeFailure } from '../core/lsp-protocol.js';
import { settingsEnv } from '../core/settings.js';

/** The vtopo.* settings as the environment the server and the CLI read (src/core/settings.ts). */
export function vtopoEnv(): Record<string, string> {
    const config = vscode.workspace.getConfiguration('vtopo');
    return settingsEnv((key) => config.get(key));
}

/** The settings that change what the server does: a change restarts it with the new environment. */
const serverEnv: { env: NodeJS.ProcessEnv } = { env: {} };
function refreshServerEnv(): void {
    serverEnv.env = { ...process.env, ...vtopoEnv() };
}

export function createClient(context: vscode.ExtensionContext): LanguageClient {
    const module = context.asAbsolutePath(path.join('out', 'server.cjs'));
    refreshServerEnv();
    // The client keeps these objects and reads them again on each (re)start.
    const runOptions = { env: serverEnv.env };
    const debugOptions = { env: serverEnv.env, execArgv: ['--nolazy', '--inspect=6009'] };
    const serverOptions: ServerOptions = {
        run: { module, transport: TransportKind.ipc, options: runOptions },
        debug: { module, transport: TransportKind.ipc, options: debugOptions },
    };
    const clientOptions: LanguageClientOptions = {
        documentSelector: [{ scheme: 'file', language: 'vtopo' }, { scheme: 'untitled', language: 'vtopo' }],
        synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.vtopo') },
    };
    const client = new LanguageClient('vtopo', 'vtopo', serverOptions, clientOptions);
    context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('vtopo')) return;
        refreshServerEnv();
        runOptions.env = debugOptions.env = serverEnv.env;
        void client.restart();
    }));
    return client;
}

export class CallFailed extends Error {
    constructor(readonly failure: RuntimeFailure) {
        super(failure.message);
    }
}

export async function call<P, R>(client: LanguageClient, type: RequestType<P, Outcome<R>, void>, params: P): Promise<R> {
    const out = await client.sendRequest(type, params);
    if (!out.ok) throw new CallFailed(out.error);
    return out.value;
}

/** Shows an error with its fix; returns nothing so callers can `return showError(...)`. */
export async function showError(what: string, err: unknown, output?: vscode.OutputChannel): Promise<void> {
    const f: RuntimeFailure = err instanceof CallFailed ? err.failure : { message: err instanceof Error ? err.message : String(err) };
    output?.appendLine(`${what} failed: ${f.message}${f.fix ? `\n  fix: ${f.fix}` : ''}`);
    const text = `vtopo ${what} failed: ${f.message}${f.fix ? ` — Fix: ${f.fix}` : ''}`;
    const pick = await vscode.window.showErrorMessage(text, ...(output ? ['Show Log'] : []));
    if (pick === 'Show Log') output?.show(true);
}
