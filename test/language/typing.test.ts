/**
 * A file being typed is mostly broken: cut short, a word missing, a word of
 * the wrong kind where the grammar wanted another. The parser recovers with
 * holes in the AST (a property it could not read is undefined), and every
 * check must cope: a check that throws loses its diagnostics and Langium
 * shows "An error occurred during validation" instead. Each kept file is
 * checked cut after every word, without each word, and with each word
 * replaced by a name, a string and numbers (0, 7, one over 2^32); an error-free result must
 * also compile to a plan and export in every format (or be refused with a
 * message, not a crash).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { breathe } from '../support/wait.js';
import { checkText } from '../../src/language/load.js';
import { buildQemuArgv, resolveBootImage } from '../../src/backends/qemu/index.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { exportCases, exportPlan } from '../../src/plan/export/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { VtopoError } from '../../src/core/api.js';
import { KEPT_FILES, variants } from '../mutations.js';
import { lsp, parse } from './helpers.js';

const argv = (vm: VmPlan) => buildQemuArgv(vm, resolveBootImage(vm, { kernel: 'K', initrd: 'I' }));

function position(text: string, at: number) {
    const lines = text.slice(0, Math.max(0, Math.min(at, text.length))).split('\n');
    return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

describe('checking a file as it is typed', () => {
    for (const file of KEPT_FILES) {
        it(`never throws on a broken ${file}`, async () => {
            const text = readFileSync(file, 'utf8');
            const clean = !(await checkText(text, 'typing.vtopo')).hasErrors;
            const failures: string[] = [];
            let checked = 0;
            let compiled = 0;
            for (const [what, variant] of variants(text)) {
                await breathe();
                checked++;
                const r = await checkText(variant, 'typing.vtopo');
                const thrown = r.diagnostics.filter((d) => d.message.startsWith('An error occurred'));
                if (thrown.length) failures.push(`${what}: ${thrown[0].message}`);
                if (r.hasErrors || !r.model) continue;
                try {
                    const plan = compilePlan(topologyOf(r.model, '/src/typing.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/typing.vtopo', onlineCpus: [0, 1, 2, 3] });
                    for (const c of exportCases(plan)) exportPlan(plan, c.format, { argv, host: c.host });
                    compiled++;
                } catch (e) {
                    // A file cut before its topology is refused on purpose, with the fix.
                    if (e instanceof VtopoError && e.code === 'no-topology') continue;
                    failures.push(`${what}: compile or export threw ${(e as Error).message}`);
                }
            }
            expect(failures.slice(0, 10)).toEqual([]);
            // The mutations reach both sides: broken files, and valid ones the compiler takes.
            expect(checked).toBeGreaterThanOrEqual(4 * text.split(/\s+/).filter(Boolean).length);
            if (clean) expect(compiled).toBeGreaterThan(10);
        }, 120_000);
    }
});

describe('editor features on a file as it is typed', () => {
    const s = lsp.Vtopo.lsp;
    for (const file of KEPT_FILES.filter((f) => !f.includes('/invalid/'))) {
        it(`answer on a broken ${file}`, async () => {
            const failures: string[] = [];
            for (const [what, variant, at] of variants(readFileSync(file, 'utf8'))) {
                await breathe();
                const doc = await parse(variant, { validation: true });
                const textDocument = { uri: doc.textDocument.uri };
                const here = position(variant, at);
                const calls: [string, () => unknown][] = [
                    ['hover', () => s.HoverProvider!.getHoverContent(doc, { textDocument, position: position(variant, at + 1) })],
                    ['completion', () => s.CompletionProvider!.getCompletion(doc, { textDocument, position: here })],
                    ['symbols', () => s.DocumentSymbolProvider!.getSymbols(doc, { textDocument })],
                    ['semantic tokens', () => s.SemanticTokenProvider!.semanticHighlight(doc, { textDocument })],
                    ['formatting', () => s.Formatter!.formatDocument(doc, { textDocument, options: { tabSize: 2, insertSpaces: true } })],
                    ['code actions', () => s.CodeActionProvider!.getCodeActions(doc, { textDocument, range: { start: { line: 0, character: 0 }, end: here }, context: { diagnostics: doc.diagnostics ?? [] } })],
                ];
                for (const [name, call] of calls) {
                    try {
                        await call();
                    } catch (e) {
                        failures.push(`${what}: ${name} threw ${(e as Error).message}`);
                    }
                }
            }
            expect(failures.slice(0, 10)).toEqual([]);
        }, 120_000);
    }
});
