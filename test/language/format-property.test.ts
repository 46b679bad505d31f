/**
 * The formatter over every kept file and every deliberate edit of it
 * (test/mutations.ts), and the file with its indentation stripped:
 * formatting twice gives what formatting once gave,
 * and the formatted file checks with the same diagnostics. (Run once over
 * the word-level variants too, 12,174 texts: no failure; too slow to keep.)
 */
import { readFileSync } from 'node:fs';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describe, expect, it } from 'vitest';
import { breathe } from '../support/wait.js';
import { checkText } from '../../src/language/load.js';
import { edits, KEPT_FILES } from '../mutations.js';
import { lsp, parse } from './helpers.js';

async function format(text: string): Promise<string> {
    const doc = await parse(text);
    const changes = await lsp.Vtopo.lsp.Formatter!.formatDocument(doc, { textDocument: { uri: doc.textDocument.uri }, options: { tabSize: 2, insertSpaces: true } });
    return TextDocument.applyEdits(TextDocument.create('inmemory://f.vtopo', 'vtopo', 1, text), changes);
}

const codes = async (text: string) => (await checkText(text, 'f.vtopo')).diagnostics.map((d) => d.code).sort();

describe('formatting', () => {
    for (const file of KEPT_FILES) {
        it(`is idempotent and changes no diagnostic on ${file} and its edits`, async () => {
            const text = readFileSync(file, 'utf8');
            const failures: string[] = [];
            let changed = 0;
            // (With its indentation stripped, so the formatter has work to do.)
            for (const [what, v] of [['as it is', text] as [string, string], ['unindented', text.replace(/^[ \t]+/gm, '')] as [string, string], ...edits(text)]) {
                await breathe();
                const once = await format(v);
                if (once !== v) changed++;
                if ((await format(once)) !== once) failures.push(`${what}: a second format changes it again`);
                else if ((await codes(once)).join() !== (await codes(v)).join()) failures.push(`${what}: diagnostics changed by formatting`);
            }
            expect(failures.slice(0, 10)).toEqual([]);
            // (A file that does not parse is left as it is.)
            if ((await parse(text)).parseResult.parserErrors.length === 0) expect(changed).toBeGreaterThan(0);
        }, 60_000);
    }
});
