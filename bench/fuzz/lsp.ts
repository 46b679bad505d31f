/**
 * Long language-server fuzz run: `npx tsx bench/fuzz/lsp.ts [--cases 10000]
 * [--seed 1] [--start 0] [--hang-ms 30000] [--out DIR]`.
 *
 * Cases run in a child process; the parent is a watchdog: a case that
 * makes no progress within --hang-ms is recorded as a hang, the child is
 * killed and the run resumes at the next case. Prints cases/s and
 * every finding grouped by feature and first line, each with the
 * (seed, index) that replays it (`--seed S --start I --cases 1`); the
 * mutated texts go to --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lspCase, runLspFuzz, type LspRunFinding } from '../../test/fuzz/lsp-run.js';

interface Job { seed: number; start: number; end: number }
type Msg = { type: 'case'; index: number; ms: number; slowest: string } | { type: 'finding'; finding: LspRunFinding } | { type: 'done' };

const send = (m: Msg) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

if (process.env.VTOPO_FUZZ_JOB) {
    const job = JSON.parse(process.env.VTOPO_FUZZ_JOB) as Job;
    const summary = await runLspFuzz({
        seed: job.seed, start: job.start, cases: job.end - job.start,
        onCase: (index, info) => { process.send!({ type: 'case', index, ...info } satisfies Msg); },
    });
    for (const finding of summary.findings) await send({ type: 'finding', finding });
    await send({ type: 'done' });
    process.disconnect();
} else {
    const { values } = parseArgs({
        options: {
            cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, start: { type: 'string', default: '0' },
            'hang-ms': { type: 'string', default: '30000' }, out: { type: 'string', default: 'test-artifacts/fuzz-lsp' },
        },
    });
    const seed = Number(values.seed);
    const start = Number(values.start);
    const end = start + Number(values.cases);
    const hangMs = Number(values['hang-ms']);
    const findings: LspRunFinding[] = [];
    const slow: { index: number; ms: number; feature: string }[] = [];
    let done = 0;
    const t0 = performance.now();

    const runFrom = (from: number): Promise<number> => new Promise((resolve) => {
        const worker = fork(fileURLToPath(import.meta.url), [], {
            env: { ...process.env, VTOPO_FUZZ_JOB: JSON.stringify({ seed, start: from, end } satisfies Job) },
        });
        let finished = false;
        let next = from;
        let timer: NodeJS.Timeout;
        const arm = () => { clearTimeout(timer); timer = setTimeout(onHang, hangMs); };
        const onHang = () => {
            const c = lspCase(seed, next);
            findings.push({ feature: 'hang', message: `no answer within ${hangMs} ms`, seed, index: next, base: c.base, ops: c.ops, text: c.text });
            finished = true;
            worker.kill('SIGKILL');
            resolve(next + 1);
        };
        arm();
        worker.on('message', (m: Msg) => {
            if (m.type === 'case') {
                arm();
                next = m.index + 1;
                done++;
                slow.push({ index: m.index, ms: m.ms, feature: m.slowest });
                slow.sort((a, b) => b.ms - a.ms).splice(5);
                if (done % 500 === 0) process.stderr.write(`${done} cases, ${(done / ((performance.now() - t0) / 1000)).toFixed(1)}/s, ${findings.length} findings\n`);
            } else if (m.type === 'finding') findings.push(m.finding);
            else { clearTimeout(timer); finished = true; resolve(end); }
        });
        worker.on('exit', (code, signal) => {
            clearTimeout(timer);
            if (finished) return;
            if (done === 0) {
                console.error(`the fuzz child exited (code ${code}, signal ${signal}) before its first case: not a finding, a broken setup`);
                process.exit(2);
            }
            const c = lspCase(seed, next);
            findings.push({ feature: 'process-crash', message: `exit code ${code}, signal ${signal}`, seed, index: next, base: c.base, ops: c.ops, text: c.text });
            resolve(next + 1);
        });
    });

    for (let from = start; from < end;) from = await runFrom(from);
    const secs = (performance.now() - t0) / 1000;

    const groups = new Map<string, LspRunFinding[]>();
    for (const f of findings) {
        const key = `${f.feature}: ${f.message.split('\n')[0].replace(/\d+/g, 'N').slice(0, 160)}`;
        groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    if (findings.length) {
        mkdirSync(values.out!, { recursive: true });
        for (const f of findings) writeFileSync(path.join(values.out!, `seed${seed}-case${f.index}-${f.feature}.vtopo`), f.text);
    }
    console.log(`lsp fuzz: ${done} cases in ${secs.toFixed(1)} s = ${(done / secs).toFixed(1)} cases/s, seed ${seed}, cases ${start}..${end - 1}`);
    console.log(`slowest cases: ${slow.map((s) => `#${s.index} ${s.ms.toFixed(0)} ms (${s.feature})`).join(', ')}`);
    console.log(`findings: ${findings.length} (${groups.size} distinct)`);
    for (const [key, fs] of groups) {
        console.log(`- ${fs.length}× ${key}\n  replay: seed ${fs[0].seed} case ${fs[0].index} (${fs[0].base}, ops ${fs[0].ops.join('+')})`);
        console.log(`  ${fs[0].message.split('\n').slice(1, 4).join('\n  ')}`);
    }
    if (findings.length) console.log(`mutated texts written to ${values.out}/`);
    process.exitCode = findings.length ? 1 : 0;
}
