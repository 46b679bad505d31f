/**
 * Language server under mutated input: a few hundred seeded mutants of the
 * examples and fixtures go through parsing, linking, validation and every
 * editor feature. Nothing may throw, every range must lie inside its
 * document, and a text the checker accepts must compile to a Plan with
 * safe names. The long run is `npx tsx bench/fuzz/lsp.ts`.
 */
import { URI } from 'langium';
import { describe, expect, it } from 'vitest';
import { LspFuzzer, rangeProblem } from '../fuzz/lsp-case.js';
import { loadSeedCorpus } from '../fuzz/lsp-corpus.js';
import { runLspFuzz } from '../fuzz/lsp-run.js';
import { Rng } from '../support/rng.js';
import { mutate, tokenize } from '../fuzz/vtopo-mutator.js';

const CASES = 300;

describe('language server fuzz', () => {
    it(`survives ${CASES} grammar-aware mutants with valid ranges everywhere`, async () => {
        const s = await runLspFuzz({ seed: 20261125, cases: CASES });
        const report = s.findings.slice(0, 5).map((f) => `case ${f.index} (${f.base}, ${f.ops.join('+')}) ${f.feature}: ${f.message}`);
        expect(report).toEqual([]);
        expect(s.cases).toBe(CASES);
        // The mutants must reach past the parser: some parse cleanly (checker, compiler), most draw diagnostics.
        expect(s.parsedClean).toBeGreaterThan(CASES / 5);
        expect(s.diagnostics).toBeGreaterThan(CASES);
    }, 240_000);

    it('replays: the same seed and index give the same mutant', () => {
        const corpus = loadSeedCorpus();
        const v = { keywords: ['vm', 'port'], corpus: corpus.map((c) => c.text) };
        const a = mutate(corpus[0].text, Rng.forCase(7, 42), v);
        const b = mutate(corpus[0].text, Rng.forCase(7, 42), v);
        expect(a).toEqual(b);
        expect(tokenize(corpus[0].text).map((t) => t.text).join('')).toBe(corpus[0].text);
    });

    it('can fail: a throwing feature and a range outside the document are findings', async () => {
        const f = new LspFuzzer();
        const lsp = f.services.lsp;
        lsp.FoldingRangeProvider!.getFoldingRanges = () => { throw new Error('planted'); };
        const outside = { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } };
        lsp.DocumentSymbolProvider!.getSymbols = () => [{ name: 'x', kind: 1, range: outside, selectionRange: outside }];
        const r = await f.run('topology t { bridge br0 }', new Rng(1));
        expect([...new Set(r.findings.map((x) => x.feature))].sort()).toEqual(['folding', 'symbol-range']);
        expect(r.findings.find((x) => x.feature === 'folding')?.message).toContain('planted');
    });

    it('checks ranges against the real document bounds', () => {
        const doc = new LspFuzzer().services.shared.workspace.LangiumDocumentFactory.fromString('topology t { bridge br0 }', URI.file('/x.vtopo'));
        expect(rangeProblem(doc, { start: { line: 0, character: 0 }, end: { line: 0, character: 25 } })).toBeUndefined();
        expect(rangeProblem(doc, { start: { line: 0, character: 0 }, end: { line: 0, character: 26 } })).toMatch(/end outside/);
        expect(rangeProblem(doc, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } })).toMatch(/start outside/);
        expect(rangeProblem(doc, { start: { line: 0, character: 5 }, end: { line: 0, character: 2 } })).toMatch(/end before start/);
    });
});
