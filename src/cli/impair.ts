/**
 * `vtopo impair FILE PORT [--delay D] [--jitter D] [--loss P] [--duplicate P]
 * [--reorder P] [--rate R] | --clear`: sets the impairment of a running port
 * (frames towards its guest) or link (both ways) in place. The options given
 * are the whole new impairment (as `tc qdisc change … netem` takes them);
 * it lasts until the next deploy, which applies the file's again.
 */
import { parseDuration, parsePercent, parseRate, type Parsed } from '../core/impair.js';
import type { ImpairmentPlan } from '../core/plan.js';
import { reportError } from '../runtime/format.js';
import { impair } from '../runtime/index.js';

const USAGE = 'usage: vtopo impair FILE PORT [--delay D] [--jitter D] [--loss P] [--duplicate P] [--reorder P] [--rate R] | --clear [--json]\n' +
    '  PORT is vm.port (frames towards the guest) or a link bridge--bridge (both ways); D like 20ms, P like 1%, R like 100mbit\n';

const OPTIONS: Record<string, { key: keyof ImpairmentPlan; parse: (t: string) => Parsed }> = {
    '--delay': { key: 'delayUs', parse: parseDuration },
    '--jitter': { key: 'jitterUs', parse: parseDuration },
    '--loss': { key: 'lossPct', parse: parsePercent },
    '--duplicate': { key: 'duplicatePct', parse: parsePercent },
    '--reorder': { key: 'reorderPct', parse: parsePercent },
    '--rate': { key: 'rateBps', parse: parseRate },
};

export function parseImpairArgs(argv: string[]): { file: string; port: string; impair: ImpairmentPlan; json: boolean } | { error: string } {
    const pos: string[] = [];
    const spec: ImpairmentPlan = {};
    let clear = false;
    let json = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--clear') { clear = true; continue; }
        if (a === '--json') { json = true; continue; }
        if (!a.startsWith('--')) { pos.push(a); continue; }
        const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
        const o = OPTIONS[flag];
        if (!o) return { error: `unknown option ${flag}` };
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') return { error: `${flag} needs a value` };
        const r = o.parse(value);
        if ('error' in r) return { error: `${flag} ${r.error}` };
        if (r.value > 0) spec[o.key] = r.value;
    }
    if (pos.length !== 2) return { error: 'give FILE and PORT' };
    const given = argv.some((a) => a.split('=')[0] in OPTIONS);
    if (clear && given) return { error: '--clear takes no other impairment option' };
    if (!clear && !given) return { error: 'give at least one of --delay, --jitter, --loss, --duplicate, --reorder, --rate, or --clear' };
    return { file: pos[0], port: pos[1], impair: clear ? {} : spec, json };
}

export default async function impairCommand(argv: string[]): Promise<number> {
    const a = parseImpairArgs(argv);
    if ('error' in a) {
        process.stderr.write(`vtopo impair: ${a.error}\n${USAGE}`);
        return 2;
    }
    try {
        const r = await impair(a.file, a.port, a.impair);
        process.stdout.write(a.json ? JSON.stringify(r, null, 2) + '\n' : `${r.text} (live, until the next deploy applies the file's)\n`);
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
