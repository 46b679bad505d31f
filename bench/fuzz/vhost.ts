/**
 * Long hostile-frontend run against the embedded datapath:
 * `npx tsx bench/fuzz/vhost.ts [--cases 10000000] [--seed 1] [--chunk 100000]
 *  [--check-every 20000] [--no-pair]`.
 *
 * Runs chunks of seeded cases (chunk i uses seed*1000003+i, so a finding
 * replays with `--seed S --start-chunk i --cases CHUNK`) against one
 * datapath process while a dpdk-testpmd pair forwards through it. A dead
 * datapath is a finding; it is restarted and the run goes on. Prints
 * cases/s, findings, the victim's failure reasons, the pair's frames and
 * how many log bytes each case cost the datapath.
 * Heavy (testpmd busy-polls a core): run it under flock /tmp/vtopo-heavy.lock.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startLivePair, type LivePair } from '../../test/fuzz/live-pair.js';
import { DatapathProc } from '../../test/support/datapath-proc.js';
import { runVhostFuzz, type VhostFinding } from '../../test/fuzz/vhost-run.js';

const { values } = parseArgs({
    options: {
        cases: { type: 'string', default: '10000000' }, seed: { type: 'string', default: '1' }, chunk: { type: 'string', default: '100000' },
        'start-chunk': { type: 'string', default: '0' }, 'check-every': { type: 'string', default: '20000' }, 'no-pair': { type: 'boolean', default: false },
    },
});
const total = Number(values.cases);
const chunk = Math.min(Number(values.chunk), total);
const seed = Number(values.seed);

let dir = '';
let dp: DatapathProc | undefined;
let pair: LivePair | undefined;
const findings: (VhostFinding & { chunk: number })[] = [];
const reasons: Record<string, number> = {};
let cases = 0;
let pairFrames = 0;
let logBytes = 0;
let restarts = 0;

async function up(): Promise<void> {
    dir = mkdtempSync(path.join(tmpdir(), 'vtopo-fuzz-vhost-'));
    dp = new DatapathProc(dir);
    await dp.start();
    if (!values['no-pair']) pair = await startLivePair(dp, dir);
}

async function down(): Promise<void> {
    if (pair) pairFrames += (await pair.received().catch(() => [0, 0] as [number, number])).reduce((a, b) => a + b, 0);
    pair?.stop();
    pair = undefined;
    try { logBytes += statSync(dp!.log).size; } catch { /* none */ }
    await dp?.stop();
    rmSync(dir, { recursive: true, force: true });
}

const stopping = { now: false };
process.on('SIGINT', () => { stopping.now = true; });

const t0 = performance.now();
await up();
try {
    for (let c = Number(values['start-chunk']); cases < total && !stopping.now; c++) {
        const s = await runVhostFuzz({
            seed: seed * 1000003 + c, cases: Math.min(chunk, total - cases), dir, dp: dp!, checkEvery: Number(values['check-every']), maxSteps: 300,
            check: pair ? () => pair!.check() : undefined,
        });
        cases += s.cases;
        for (const f of s.findings) findings.push({ ...f, chunk: c });
        for (const [k, n] of Object.entries(s.failureReasons)) reasons[k] = (reasons[k] ?? 0) + n;
        const secs = (performance.now() - t0) / 1000;
        process.stderr.write(`${cases} cases, ${(cases / secs).toFixed(0)}/s, ${findings.length} findings\n`);
        if (!dp!.alive || s.findings.some((f) => f.kind === 'datapath-unresponsive')) {
            restarts++;
            await down();
            await up();
        } else {
            // Ports of one run are reused by the next: remove them so it starts clean.
            for (const p of ['fuzz.v', 'fuzz.s']) await dp!.req('remove-port', { port: p });
            await dp!.req('remove-bridge', { name: 'fz' });
        }
    }
} finally {
    await down();
}
const secs = (performance.now() - t0) / 1000;
console.log(`vhost fuzz: ${cases} cases in ${secs.toFixed(0)} s = ${(cases / secs).toFixed(0)} cases/s, seed ${seed}, datapath restarts ${restarts}`);
console.log(`testpmd pair forwarded ${pairFrames} frames through the same datapath meanwhile (${(pairFrames / secs / 1e6).toFixed(2)} Mpps on average); datapath log ${(logBytes / cases).toFixed(1)} bytes per case`);
console.log(`victim failures seen in status (sampled): ${JSON.stringify(reasons)}`);
console.log(`findings: ${findings.length}`);
for (const f of findings) {
    console.log(`- ${f.kind} (chunk ${f.chunk}, session ${f.session}): ${f.message.split('\n').slice(0, 6).join('\n  ')}`);
    console.log(`  last cases:\n    ${f.recent.slice(-12).join('\n    ')}`);
}
process.exitCode = findings.length ? 1 : 0;
