/**
 * Regressions for what the language fuzzer found. Each text is the
 * reduced mutant; the hang runs in a child `vtopo check` with a deadline so
 * a regression fails this test instead of freezing the test run.
 */
import { run } from '../support/run.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmptyFileSystem, URI } from 'langium';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { afterAll, describe, expect, it } from 'vitest';
import { createVtopoServices } from '../../src/language/vtopo-module.js';
import { selfExecArgv } from '../../src/host/self-exec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-lspfind-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('language fuzz findings stay fixed', () => {
    it('a core bound above 2^53 is refused, not looped over forever', async () => {
        const file = path.join(dir, 'huge-core.vtopo');
        writeFileSync(file, 'topology t {\n  host { cores 0-1  memory 1G  poll-cores 9007199254740993 }\n  bridge b\n}\n');
        const [cmd, ...pre] = selfExecArgv();
        const r = await run(cmd, [...pre, 'check', file], { timeout: 25_000 });
        expect(r.signal, 'vtopo check was killed at its deadline: the checker hangs').toBeNull();
        expect(r.stdout + r.stderr).toContain('core-list-invalid');
        expect(r.status).toBe(1);
    }, 30_000);

    it('range formatting on the line of a syntax error keeps every token', async () => {
        const { Vtopo, shared } = createVtopoServices(EmptyFileSystem);
        const text = 'topology bare {\n  bridge idle\n  bridge spare\n  vm 0.0.0.0/0 { c';
        const d = shared.workspace.LangiumDocumentFactory.fromString(text, URI.file('/finding-111.vtopo'));
        shared.workspace.LangiumDocuments.addDocument(d);
        await shared.workspace.DocumentBuilder.build([d], { validation: true });
        const lines = text.split('\n');
        for (let line = 0; line < lines.length; line++) {
            const range = { start: { line: 0, character: 0 }, end: { line, character: lines[line].length } };
            const edits = await Vtopo.lsp.Formatter!.formatDocumentRange(d, { textDocument: { uri: d.uri.toString() }, options: { tabSize: 2, insertSpaces: true }, range });
            const out = TextDocument.applyEdits(d.textDocument, edits);
            expect(out.replace(/\s+/g, ''), `range ending on line ${line}`).toBe(text.replace(/\s+/g, ''));
        }
    });
});
