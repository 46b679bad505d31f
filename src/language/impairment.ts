/**
 * A file's `impair { … }` block and `expect` line as plain values, shared by
 * the checker (which reports each problem on its word) and the plan (which
 * refuses a file that still has one). Pure.
 */
import { GrammarUtils, type AstNode } from 'langium';
import { parseDuration, parsePercent, parseRate, type Parsed } from '../core/impair.js';
import type { ExpectationPlan, ImpairmentPlan } from '../core/plan.js';
import type { Expect, Impairment } from './generated/ast.js';

export type ImpairWord = 'delay' | 'jitter' | 'loss' | 'duplicate' | 'reorder' | 'rate';

/** File keyword → plan key and how its value reads. */
export const IMPAIR_WORDS: Record<ImpairWord, { key: keyof ImpairmentPlan; parse: (t: string) => Parsed }> = {
    delay: { key: 'delayUs', parse: parseDuration },
    jitter: { key: 'jitterUs', parse: parseDuration },
    loss: { key: 'lossPct', parse: parsePercent },
    duplicate: { key: 'duplicatePct', parse: parsePercent },
    reorder: { key: 'reorderPct', parse: parsePercent },
    rate: { key: 'rateBps', parse: parseRate },
};

export interface ImpairRead {
    plan: ImpairmentPlan;
    /** Words whose value does not read, with the sentence. */
    errors: { word: ImpairWord; index: number; message: string }[];
}

/** The last block's values (a repeated word or block is the checker's error; the last one counts). */
export function readImpairment(blocks: Impairment[] | undefined): ImpairRead | undefined {
    const b = blocks?.[blocks.length - 1];
    if (!b) return undefined;
    const plan: ImpairmentPlan = {};
    const errors: ImpairRead['errors'] = [];
    for (const [word, { key, parse }] of Object.entries(IMPAIR_WORDS) as [ImpairWord, (typeof IMPAIR_WORDS)[ImpairWord]][]) {
        const values = b[word] ?? [];
        if (values.length === 0) continue;
        const index = values.length - 1;
        const r = parse(textOf(b, word, index, values[index]));
        if ('error' in r) errors.push({ word, index, message: r.error });
        else if (r.value > 0) plan[key] = r.value;
    }
    return { plan, errors };
}

/** An `expect` line as verify checks it; the limit error when it does not read. */
export function readExpectation(e: Expect, line: number): { plan?: ExpectationPlan; error?: string } {
    const from = e.from?.ref?.name ?? e.from?.$refText ?? '';
    const to = e.to?.ref?.name ?? e.to?.$refText ?? '';
    const kind = e.kind as ExpectationPlan['kind'];
    if (kind === 'reaches' || kind === 'isolated') return { plan: { line, kind, from, to } };
    const want = kind === 'rtt' ? '<' : '>';
    if (e.op !== want) return { error: `\`expect ${kind}\` takes \`${want}\`: ${kind === 'rtt' ? 'the round trip must stay below a limit (e.g. `< 50ms`)' : 'the throughput must exceed a rate (e.g. `> 200mbit`)'}` };
    const limit = e.limit === undefined ? '' : textOf(e, 'limit', undefined, e.limit);
    const r = kind === 'rtt' ? parseDuration(limit) : parseRate(limit);
    if ('error' in r) return { error: r.error };
    return { plan: { line, kind, from, to, limit: kind === 'rtt' ? r.value / 1000 : r.value } };
}

/** A Quantity as written: SIZE tokens in it were converted to bytes (`100mb` must keep its unit for the message). */
function textOf(node: AstNode, property: string, index: number | undefined, value: unknown): string {
    return GrammarUtils.findNodeForProperty(node.$cstNode, property, index)?.text ?? String(value);
}
