/**
 * LSP endurance bench (not a test): the real language server (out/server.cjs,
 * rebuilt first) under a long scripted editing session on the generated
 * 1,000-VM topology.
 *
 *   npx tsx bench/lsp/session.ts [--vms 1000] [--minutes 30] [--every 200] [--warmup 60] [--seed 1]
 *
 * Every `--every` ms one edit (seeded): flip a VM's memory between 256M and
 * 64M (at most five VMs are wrong at a time: half the flips fix one), append a VM with 64M at the end, or delete the last appended
 * one. Each edit moves the number of `vm-memory-too-small` errors by one, so
 * the diagnostics that reflect it are unambiguous; the revalidation time is
 * didChange → those diagnostics. An edit whose revalidation outlasts the
 * interval holds the next one back (counted as late), so at most one edit is
 * in flight. Per minute: edits, median and p95 revalidation, the server's RSS
 * and its V8 heap after the minute's last mark-compact (the server runs over
 * node IPC with --trace-gc, so its stdout carries GC lines only). Goals: p95
 * < 200 ms in every minute, memory at the end within 10 % of after warm-up.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node.js';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { rng } from '../../test/support/rng.js';
import { generateTopology } from './generate.js';
import { rssOf } from './proc.js';

const { values } = parseArgs({
    options: {
        vms: { type: 'string', default: '1000' }, minutes: { type: 'string', default: '30' }, every: { type: 'string', default: '200' },
        warmup: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' },
    },
});
const VMS = Number(values.vms);
const DURATION_MS = Number(values.minutes) * 60_000;
const EVERY_MS = Number(values.every);
const WARMUP_MS = Number(values.warmup) * 1000;
const MAX_EXTRA = 20;
const MAX_WRONG = 5;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

interface Minute { edits: number; late: number; reval: number[]; rss: number; heapAfterGc: number; markCompacts: number }

async function main(): Promise<void> {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);

    const { text } = generateTopology(VMS);
    const lines = text.split('\n');
    const memoryLines = lines.flatMap((l, i) => (l === '    memory 256M' ? [i] : []));
    const closing = lines.lastIndexOf('}');
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-bench-session-'));
    const file = path.join(dir, `lab${VMS}.vtopo`);
    writeFileSync(file, text);
    const uri = pathToFileURL(file).href;
    console.log(`topology: ${VMS} VMs, ${lines.length} lines; ${values.minutes} min, an edit every ${EVERY_MS} ms, warm-up ${WARMUP_MS / 1000} s`);

    const server = spawn(process.execPath, ['--trace-gc', path.join(root, 'out', 'server.cjs'), '--node-ipc'], {
        cwd: dir, stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, VTOPO_STATE_DIR: path.join(dir, 'state') },
    });
    // --trace-gc: "... Mark-Compact 212.3 (240.1) -> 98.7 (241.0) MB, ..." — the size after is the live heap.
    let heapAfterGc = NaN;
    let markCompacts = 0;
    let gcTail = '';
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const all = gcTail + chunk;
        const parts = all.split('\n');
        gcTail = parts.pop()!;
        for (const l of parts) {
            const m = /Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(l);
            if (m) { heapAfterGc = Number(m[1]); markCompacts++; }
        }
    });
    const conn = createMessageConnection(new IPCMessageReader(server), new IPCMessageWriter(server));
    let smallSeen = -1;
    let onDiagnostics: (() => void) | undefined;
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
        if (p.uri !== uri) return;
        smallSeen = p.diagnostics.filter((d) => d.code === 'vm-memory-too-small').length;
        onDiagnostics?.();
    });
    conn.onRequest(() => null);
    conn.listen();
    const diagnosticsWith = (small: number) => new Promise<void>((resolve) => {
        if (smallSeen === small) return resolve();
        onDiagnostics = () => { if (smallSeen === small) { onDiagnostics = undefined; resolve(); } };
    });

    const minutes: Minute[] = [];
    let baseline: { rss: number; heap: number } | undefined;
    try {
        await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: { textDocument: { publishDiagnostics: {} } } });
        await conn.sendNotification('initialized', {});
        const opened = diagnosticsWith(0);
        await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'vtopo', version: 1, text } });
        await opened;

        const random = rng(Number(values.seed));
        const small = new Set<number>();
        let extra = 0;
        let version = 1;
        const nextEdit = () => {
            const r = random();
            if (r < 0.15 && extra < MAX_EXTRA) {
                const block = [`  vm extra${extra} {`, '    cpus 1', '    memory 64M', '  }'];
                const at = closing + 4 * extra;
                extra++;
                return { range: { start: { line: at, character: 0 }, end: { line: at, character: 0 } }, text: block.join('\n') + '\n', delta: 1 };
            }
            if (r < 0.3 && extra > 0) {
                extra--;
                const at = closing + 4 * extra;
                return { range: { start: { line: at, character: 0 }, end: { line: at + 4, character: 0 } }, text: '', delta: -1 };
            }
            // Like a user who breaks a line and fixes it again: at most a few VMs are wrong at a time
            // (flipping VMs at random would leave half of the 1,000 in error after a few minutes).
            const wrong = [...small];
            const vm = wrong.length >= MAX_WRONG || (wrong.length > 0 && random() < 0.5)
                ? wrong[Math.floor(random() * wrong.length)]
                : Math.floor(random() * memoryLines.length);
            const toSmall = !small.has(vm);
            if (toSmall) small.add(vm); else small.delete(vm);
            const line = memoryLines[vm];
            const start = { line, character: '    memory '.length };
            return { range: { start, end: { line, character: start.character + (toSmall ? 4 : 3) } }, text: toSmall ? '64M' : '256M', delta: toSmall ? 1 : -1 };
        };

        const t0 = performance.now();
        let expected = 0;
        let minute: Minute = { edits: 0, late: 0, reval: [], rss: 0, heapAfterGc: NaN, markCompacts: 0 };
        let minuteEnd = t0 + 60_000;
        let warm = false;
        let due = t0;
        for (;;) {
            const now = performance.now();
            if (!warm && now - t0 >= WARMUP_MS) {
                warm = true;
                baseline = { rss: rssOf(server.pid!).rss, heap: heapAfterGc };
                console.log(`after warm-up: RSS ${baseline.rss.toFixed(0)} MiB, heap after the last mark-compact ${baseline.heap.toFixed(1)} MiB`);
            }
            if (now >= minuteEnd) {
                Object.assign(minute, { rss: rssOf(server.pid!).rss, heapAfterGc, markCompacts });
                minutes.push(minute);
                const m = minutes.length;
                console.log(`minute ${String(m).padStart(2)}: ${minute.edits} edits (${minute.late} late), revalidation median ${quantile(minute.reval, 0.5).toFixed(0)} ms, ` +
                    `p95 ${quantile(minute.reval, 0.95).toFixed(0)} ms, max ${Math.max(...minute.reval).toFixed(0)} ms; RSS ${minute.rss.toFixed(0)} MiB, ` +
                    `heap after GC ${heapAfterGc.toFixed(1)} MiB (${markCompacts} mark-compacts so far)`);
                minute = { edits: 0, late: 0, reval: [], rss: 0, heapAfterGc: NaN, markCompacts: 0 };
                minuteEnd += 60_000;
                if (now - t0 >= DURATION_MS) break;
            }
            if (now < due) { await sleep(due - now); continue; }
            if (now - due > 10) minute.late++;
            due += EVERY_MS;
            if (due < now) due = now;
            const edit = nextEdit();
            expected += edit.delta;
            const done = diagnosticsWith(expected);
            const ts = performance.now();
            await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [{ range: edit.range, text: edit.text }] });
            await done;
            minute.reval.push(performance.now() - ts);
            minute.edits++;
        }
        await conn.sendRequest('shutdown');
        await conn.sendNotification('exit');
    } finally {
        conn.dispose();
        if (server.exitCode === null) server.kill();
        rmSync(dir, { recursive: true, force: true });
    }

    const counted = minutes.slice(Math.ceil(WARMUP_MS / 60_000));
    const worst = Math.max(...counted.map((m) => quantile(m.reval, 0.95)));
    const all = counted.flatMap((m) => m.reval);
    const last = minutes[minutes.length - 1];
    console.log(`\n${all.length} edits after warm-up: revalidation median ${quantile(all, 0.5).toFixed(0)} ms, p95 ${quantile(all, 0.95).toFixed(0)} ms; ` +
        `worst minute's p95 ${worst.toFixed(0)} ms — ${worst < 200 ? 'ok, goal < 200 ms in every minute' : 'OVER the 200 ms goal'}`);
    if (baseline) {
        const rssPct = (last.rss / baseline.rss - 1) * 100;
        const heapPct = (last.heapAfterGc / baseline.heap - 1) * 100;
        console.log(`memory: RSS ${baseline.rss.toFixed(0)} → ${last.rss.toFixed(0)} MiB (${rssPct >= 0 ? '+' : ''}${rssPct.toFixed(1)} %), ` +
            `heap after mark-compact ${baseline.heap.toFixed(1)} → ${last.heapAfterGc.toFixed(1)} MiB (${heapPct >= 0 ? '+' : ''}${heapPct.toFixed(1)} %) — ` +
            `${Math.abs(rssPct) <= 10 && Math.abs(heapPct) <= 10 ? 'ok, goal within 10 %' : 'OUTSIDE the 10 % goal'}`);
    }
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
