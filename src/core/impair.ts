/**
 * Impairment values as a user writes them (`20ms`, `0.5%`, `100mbit`, tc's
 * spelling), shared by the checker, the `vtopo impair` options and the plan
 * text. Each parser returns the value or a sentence saying what is wrong.
 */
import type { ImpairmentPlan } from './plan.js';

export type Parsed = { value: number } | { error: string };

const DURATION: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000 };
/** tc's rate units: decimal multiples of bits per second. */
const RATE: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };

const NUMBER = /^(-?[0-9]+(?:\.[0-9]+)?)([A-Za-z%]*)$/;

/** `500us`, `20ms`, `1s` → microseconds. */
export function parseDuration(text: string): Parsed {
    const m = NUMBER.exec(text.trim());
    if (!m) return { error: `'${text}' is not a duration: write a number and us, ms or s (e.g. 20ms)` };
    const n = Number(m[1]);
    const unit = DURATION[m[2]];
    if (unit === undefined) return { error: `'${text}': ${m[2] ? `unknown duration unit '${m[2]}'` : 'a duration needs a unit'}: use us, ms or s (e.g. 20ms)` };
    if (n < 0) return { error: `'${text}': a duration cannot be negative: use 0 or more (e.g. 20ms)` };
    const us = Math.round(n * unit);
    if (us > 60_000_000) return { error: `'${text}' is too long: at most 60s` };
    return { value: us };
}

/** `1%`, `0.5%` → percent. */
export function parsePercent(text: string): Parsed {
    const m = NUMBER.exec(text.trim());
    if (!m || m[2] !== '%') return { error: `'${text}' is not a percentage: write a number followed by % (e.g. 1% or 0.5%)` };
    const n = Number(m[1]);
    if (n < 0) return { error: `'${text}': a percentage cannot be negative: use 0% to 100%` };
    if (n > 100) return { error: `'${text}' is over 100%: use 0% to 100%` };
    return { value: n };
}

/** `500kbit`, `100mbit`, `1gbit` → bits per second. */
export function parseRate(text: string): Parsed {
    const m = NUMBER.exec(text.trim());
    if (!m) return { error: `'${text}' is not a rate: write a number and bit, kbit, mbit or gbit (e.g. 100mbit)` };
    const unit = RATE[m[2].toLowerCase()];
    if (unit === undefined) {
        const hint = /^[kmgt]?(bps|b|bytes?)$/i.test(m[2]) ? ` (tc's spelling: ${m[2][0].toLowerCase()}bit for bits per second)` : '';
        return { error: `'${text}': ${m[2] ? `unknown rate unit '${m[2]}'` : 'a rate needs a unit'}: use bit, kbit, mbit or gbit (e.g. 100mbit)${hint}` };
    }
    const n = Number(m[1]);
    if (n <= 0) return { error: `'${text}': a rate must be above 0` };
    const bps = Math.round(n * unit);
    if (bps < 8000) return { error: `'${text}' is below 8kbit, the lowest rate the switch can pace` };
    if (bps > 1e12) return { error: `'${text}' is above 1tbit` };
    return { value: bps };
}

export function formatDuration(us: number): string {
    if (us >= 1_000_000 && us % 1_000_000 === 0) return `${us / 1_000_000}s`;
    if (us >= 1000 && us % 1000 === 0) return `${us / 1000}ms`;
    if (us >= 1000) return `${us / 1000}ms`;
    return `${us}us`;
}

export function formatRate(bps: number): string {
    for (const [u, f] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bps >= f) return `${+(bps / f).toFixed(3)}${u}`;
    return `${bps}bit`;
}

/** `delay 20ms jitter 2ms loss 1%` (the file's words), or `none`. */
export function formatImpairment(i: ImpairmentPlan): string {
    const out: string[] = [];
    if (i.delayUs) out.push(`delay ${formatDuration(i.delayUs)}`);
    if (i.jitterUs) out.push(`jitter ${formatDuration(i.jitterUs)}`);
    if (i.lossPct) out.push(`loss ${i.lossPct}%`);
    if (i.duplicatePct) out.push(`duplicate ${i.duplicatePct}%`);
    if (i.reorderPct) out.push(`reorder ${i.reorderPct}%`);
    if (i.rateBps) out.push(`rate ${formatRate(i.rateBps)}`);
    return out.length ? out.join(' ') : 'none';
}

/** What an impairment asks that needs another key (jitter and reorder need a delay), or undefined. */
export function impairmentProblem(i: ImpairmentPlan): { key: keyof ImpairmentPlan; message: string } | undefined {
    if (i.jitterUs && !i.delayUs) return { key: 'jitterUs', message: 'jitter needs a delay: add `delay D` (jitter varies the delay by ± itself)' };
    if (i.jitterUs && i.delayUs && i.jitterUs > i.delayUs) return { key: 'jitterUs', message: `jitter ${formatDuration(i.jitterUs)} is larger than the delay ${formatDuration(i.delayUs)}: delays below 0 are sent at once; use a jitter up to the delay` };
    if (i.reorderPct && !i.delayUs) return { key: 'reorderPct', message: 'reorder needs a delay: add `delay D` (reordered frames skip the delay and overtake the others)' };
    return undefined;
}

/** The impairment options as `vtopo impair` and the editor's "Impair…" take them: flag → key and parser. */
export const IMPAIR_OPTIONS: Readonly<Record<string, { key: keyof ImpairmentPlan; parse: (t: string) => Parsed }>> = {
    '--delay': { key: 'delayUs', parse: parseDuration },
    '--jitter': { key: 'jitterUs', parse: parseDuration },
    '--loss': { key: 'lossPct', parse: parsePercent },
    '--duplicate': { key: 'duplicatePct', parse: parsePercent },
    '--reorder': { key: 'reorderPct', parse: parsePercent },
    '--rate': { key: 'rateBps', parse: parseRate },
};

/**
 * Impairment words (`delay 20ms loss 1%`, the `--` optional, `--delay=20ms`
 * too, or `clear`) → the whole new impairment; `{}` clears. Words that are
 * no option are returned in `rest` (the CLI's FILE and PORT).
 */
export function parseImpairWords(words: string[]): { impair: ImpairmentPlan; rest: string[] } | { error: string } {
    const rest: string[] = [];
    const spec: ImpairmentPlan = {};
    let clear = false;
    let given = false;
    for (let i = 0; i < words.length; i++) {
        const w = words[i];
        if (w === '--clear' || w === 'clear') { clear = true; continue; }
        const [word, inline] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
        const flag = word.startsWith('--') ? word : `--${word}`;
        const o = IMPAIR_OPTIONS[flag];
        if (!o) {
            if (word.startsWith('--')) return { error: `unknown option ${word}` };
            rest.push(w);
            continue;
        }
        given = true;
        const value = inline ?? words[++i];
        if (value === undefined || value === '') return { error: `${flag} needs a value` };
        const r = o.parse(value);
        if ('error' in r) return { error: `${flag} ${r.error}` };
        if (r.value > 0) spec[o.key] = r.value;
    }
    if (clear && given) return { error: '--clear takes no other impairment option' };
    if (!clear && !given) return { error: 'give at least one of --delay, --jitter, --loss, --duplicate, --reorder, --rate, or --clear' };
    return { impair: clear ? {} : spec, rest };
}
