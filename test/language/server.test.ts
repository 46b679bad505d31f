/** The language server as an editor starts it (server/main.ts over stdio) announces every feature the language has. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { InitializeResult, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { describe, expect, it } from 'vitest';

describe('language server over stdio', () => {
    it('announces completion, hover, definition, references, rename, symbols, formatting, code actions and semantic tokens, and publishes diagnostics', async () => {
        const tsx = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;
        const server = spawn(process.execPath, ['--import', tsx, 'server/main.ts', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
        const conn = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
        conn.onRequest(() => null);
        // An untitled document: the live half only follows files, so this touches no runtime state.
        const uri = 'untitled:lab.vtopo';
        const published = new Promise<PublishDiagnosticsParams>((resolve) => {
            conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => { if (p.uri === uri) resolve(p); });
        });
        conn.listen();
        try {
            const init = await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: {} }) as InitializeResult;
            const caps = init.capabilities;
            for (const key of ['completionProvider', 'hoverProvider', 'definitionProvider', 'referencesProvider', 'renameProvider',
                'documentSymbolProvider', 'documentFormattingProvider', 'codeActionProvider', 'semanticTokensProvider'] as const) {
                expect(caps[key], key).toBeTruthy();
            }
            await conn.sendNotification('initialized', {});
            await conn.sendNotification('textDocument/didOpen', {
                textDocument: { uri, languageId: 'vtopo', version: 1, text: 'topology t { host { cores 0-1 memory 1G } bridge br0 vm a { port e { bridge bro } } }' },
            });
            const { diagnostics } = await published;
            expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'unresolved-reference', message: expect.stringContaining("Did you mean 'br0'?") }));
            await conn.sendRequest('shutdown');
        } finally {
            conn.dispose();
            server.kill();
        }
    });
});
