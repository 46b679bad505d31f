/**
 * `vtopo impair FILE PORT [--delay D] [--jitter D] [--loss P] [--duplicate P]
 * [--reorder P] [--rate R] | --clear`: sets the impairment of a running port
 * (frames towards its guest) or link (both ways) in place. The options given
 * are the whole new impairment (as `tc qdisc change … netem` takes them);
 * it lasts until the next deploy, which applies the file's again.
 */
import { parseImpairWords } from '../core/impair.js';
import type { ImpairmentPlan } from '../core/plan.js';
import { reportError } from '../runtime/format.js';
import { impair } from '../runtime/index.js';

const USAGE = 'usage: vtopo impair FILE PORT [--delay D] [--jitter D] [--loss P] [--duplicate P] [--reorder P] [--rate R] | --clear [--json]\n' +
    '  PORT is vm.port (frames towards the guest) or a link bridge--bridge (both ways); D like 20ms, P like 1%, R like 100mbit\n';

export function parseImpairArgs(argv: string[]): { file: string; port: string; impair: ImpairmentPlan; json: boolean } | { error: string } {
    const json = argv.includes('--json');
    const r = parseImpairWords(argv.filter((a) => a !== '--json'));
    if ('error' in r) return r;
    if (r.rest.length !== 2) return { error: 'give FILE and PORT' };
    return { file: r.rest[0], port: r.rest[1], impair: r.impair, json };
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
