/**
 * A seeded run of the language fuzzer: case i mutates seed file i mod n
 * with Rng.forCase(seed, i), so any finding replays from (seed, i).
 */
import { LspFuzzer, type LspFinding } from './lsp-case.js';
import { loadSeedCorpus } from './lsp-corpus.js';
import { Rng } from '../support/rng.js';
import { mutate } from './vtopo-mutator.js';

export interface LspRunFinding extends LspFinding {
    seed: number;
    index: number;
    base: string;
    ops: string[];
    text: string;
}

export interface LspRunOptions {
    seed: number;
    cases: number;
    /** First case index (to resume or shard a run). */
    start?: number;
    onCase?: (index: number, info: { ms: number; slowest: string }) => void;
}

export interface LspRunSummary {
    cases: number;
    findings: LspRunFinding[];
    parsedClean: number;
    diagnostics: number;
    slowest: { index: number; ms: number; feature: string }[];
}

let fuzzer: LspFuzzer | undefined;

export function lspCase(seed: number, index: number, corpus = loadSeedCorpus()): { base: string; ops: string[]; text: string } {
    fuzzer ??= new LspFuzzer();
    const rng = Rng.forCase(seed, index);
    const base = corpus[index % corpus.length];
    // One case in ten runs the seed file unmutated or mutated twice over, so both ends are covered.
    const first = mutate(base.text, rng, { keywords: fuzzer.keywords, corpus: corpus.map((c) => c.text) });
    const m = rng.chance(0.1) ? mutate(first.text, rng, { keywords: fuzzer.keywords, corpus: corpus.map((c) => c.text) }) : first;
    return { base: base.file, ops: m === first ? first.ops : [...first.ops, ...m.ops], text: m.text };
}

export async function runLspFuzz(opts: LspRunOptions): Promise<LspRunSummary> {
    fuzzer ??= new LspFuzzer();
    const corpus = loadSeedCorpus();
    const summary: LspRunSummary = { cases: 0, findings: [], parsedClean: 0, diagnostics: 0, slowest: [] };
    const start = opts.start ?? 0;
    for (let index = start; index < start + opts.cases; index++) {
        const c = lspCase(opts.seed, index, corpus);
        const t0 = performance.now();
        const r = await fuzzer.run(c.text, Rng.forCase(opts.seed ^ 0x5bd1e995, index));
        const ms = performance.now() - t0;
        summary.cases++;
        if (r.parsedClean) summary.parsedClean++;
        summary.diagnostics += r.diagnostics;
        for (const f of r.findings) summary.findings.push({ ...f, seed: opts.seed, index, base: c.base, ops: c.ops, text: c.text });
        const slowest = Object.entries(r.millis).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
        summary.slowest.push({ index, ms, feature: slowest });
        summary.slowest.sort((a, b) => b.ms - a.ms).splice(5);
        opts.onCase?.(index, { ms, slowest });
    }
    return summary;
}
