/** `vtopo status FILE [--json] [--watch [--interval SECONDS]]`: the live view of a deployed topology. */
import type { Status } from '../core/status.js';
import { formatStatus, reportError, watchFrame } from '../runtime/format.js';
import { status } from '../runtime/index.js';
import { computeRates } from '../runtime/rates.js';
import { fileCommandArgs } from './options.js';

/** The refresh interval: --interval, else VTOPO_STATUS_INTERVAL (the editor's setting), else 1 s. */
function takeWatch(argv: string[]): { rest: string[]; watch: boolean; intervalS: number; error?: string } {
    const rest: string[] = [];
    let watch = false;
    let interval: string | undefined = process.env.VTOPO_STATUS_INTERVAL;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--watch') watch = true;
        else if (a === '--interval') interval = argv[++i];
        else if (a.startsWith('--interval=')) interval = a.slice('--interval='.length);
        else rest.push(a);
    }
    const intervalS = interval === undefined || interval === '' ? 1 : Number(interval);
    if (!(intervalS >= 0.2 && intervalS <= 3600)) return { rest, watch, intervalS: 1, error: `--interval ${interval} is not a number of seconds between 0.2 and 3600` };
    return { rest, watch, intervalS };
}

export default async function statusCommand(argv: string[]): Promise<number> {
    const w = takeWatch(argv);
    if (w.error) {
        process.stderr.write(`vtopo status: ${w.error}\n`);
        return 2;
    }
    const a = fileCommandArgs('status', w.rest);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb, host } = a;
    const opts = { ...(ovsdb ? { ovsdb } : {}), ...(host ? { host } : {}) };
    try {
        if (!w.watch) {
            const s = await status(file, opts);
            process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
            return 0;
        }
        return await watchLoop(file, opts, w.intervalS, json);
    } catch (err) {
        return reportError(err);
    }
}

/** Refreshes until interrupted: in place on a terminal (like watch(1)), one frame after another otherwise; --json: one Status per line with its rates. */
async function watchLoop(file: string, opts: { ovsdb?: string; host?: string }, intervalS: number, json: boolean): Promise<number> {
    let stop = false;
    const onSig = () => { stop = true; };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    let prev: Status | undefined;
    try {
        while (!stop) {
            const started = Date.now();
            const s = await status(file, opts);
            const rates = prev ? computeRates(prev, s) : undefined;
            if (json) process.stdout.write(JSON.stringify({ ...s, ...(rates ? { rates } : {}) }) + '\n');
            else process.stdout.write(watchFrame(formatStatus(s, rates ?? { seconds: 0, ports: {} }), intervalS, !!process.stdout.isTTY));
            prev = s;
            const wait = Math.max(0, intervalS * 1000 - (Date.now() - started));
            const end = Date.now() + wait;
            while (!stop && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
        }
    } finally {
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
    }
    return 0;
}
