/**
 * LSP bench (not a test): the real language server (out/server.cjs, rebuilt
 * first) on a generated 1,000-VM topology, driven over stdio like an editor.
 *
 *   npx tsx bench/lsp/run.ts [--vms 1000] [--rounds 20]
 *
 * Prints: first full validation after open; full revalidation after an edit
 * (didChange → the publishDiagnostics that reflects it); completion and hover
 * latency; the server's resident memory. Goals: revalidation < 200 ms,
 * completion < 50 ms. Then an in-process breakdown of one rebuild (parse,
 * link, validate) to show where the time goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { CompletionList, Hover, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { generateTopology } from './generate.js';
import { rssOf } from './proc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const VMS = arg('vms', 1000);
const ROUNDS = arg('rounds', 20);

const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    return `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, min ${s[0].toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms (n=${s.length})`;
};
const goal = (ms: number, limit: number) => (ms < limit ? `ok, goal < ${limit} ms` : `OVER the ${limit} ms goal`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
    // Measure the current sources: rebuild the bundles (quietly unless it fails).
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);

    const { text, marker, completionAt, hoverAt } = generateTopology(VMS);
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-bench-'));
    const file = path.join(dir, `lab${VMS}.vtopo`);
    writeFileSync(file, text);
    const uri = pathToFileURL(file).href;
    const lines = text.split('\n').length;
    console.log(`topology: ${VMS} VMs, ${lines} lines, ${(text.length / 1024).toFixed(0)} KiB (${file})`);

    const server = spawn(process.execPath, [path.join(root, 'out', 'server.cjs'), '--stdio'], {
        cwd: dir, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, VTOPO_STATE_DIR: path.join(dir, 'state') },
    });
    const conn = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
    const waiters: ((p: PublishDiagnosticsParams) => boolean)[] = [];
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
        if (p.uri !== uri) return;
        for (let i = 0; i < waiters.length; i++) if (waiters[i](p)) waiters.splice(i--, 1);
    });
    conn.onRequest(() => null); // workspace/configuration, client/registerCapability …
    conn.listen();
    const diagnosticsWhere = (pred: (p: PublishDiagnosticsParams) => boolean) => new Promise<PublishDiagnosticsParams>((resolve) => {
        waiters.push((p) => (pred(p) ? (resolve(p), true) : false));
    });
    const hasMarker = (p: PublishDiagnosticsParams) => p.diagnostics.some((d) => d.code === 'vm-memory-too-small');

    try {
        await conn.sendRequest('initialize', {
            processId: process.pid, rootUri: null, workspaceFolders: null,
            capabilities: { textDocument: { completion: { completionItem: { snippetSupport: true } }, hover: { contentFormat: ['markdown'] }, publishDiagnostics: {} } },
        });
        await conn.sendNotification('initialized', {});

        // First full build: parse, index, link, validate the whole file.
        let t = performance.now();
        const first = diagnosticsWhere(() => true);
        await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'vtopo', version: 1, text } });
        const firstDiags = await first;
        console.log(`open → first diagnostics: ${(performance.now() - t).toFixed(1)} ms (${firstDiags.diagnostics.length} diagnostics)`);
        const afterOpen = rssOf(server.pid!);

        // Edits: one VM's memory 256M ↔ 64M (adds/removes a vm-memory-too-small error); each is a full revalidation.
        // The first few edits run while the server still warms up (JIT, the live half loading the runtime): shown apart.
        const WARMUP = 4;
        const reval: number[] = [];
        let version = 1;
        for (let i = 0; i < ROUNDS + WARMUP; i++) {
            const toSmall = i % 2 === 0;
            const range = { start: marker, end: { line: marker.line, character: marker.character + (toSmall ? 4 : 3) } };
            const done = diagnosticsWhere((p) => hasMarker(p) === toSmall);
            t = performance.now();
            await conn.sendNotification('textDocument/didChange', {
                textDocument: { uri, version: ++version }, contentChanges: [{ range, text: toSmall ? '64M' : '256M' }],
            });
            await done;
            reval.push(performance.now() - t);
        }
        const warm = reval.splice(0, WARMUP);
        const afterEdits = rssOf(server.pid!);
        console.log(`revalidation after an edit: ${stats(reval)} — ${goal(median(reval), 200)}`);
        console.log(`  the first ${WARMUP} edits (warm-up, not counted): ${warm.map((x) => x.toFixed(0)).join(' ')} ms`);

        const completion: number[] = [];
        let items = 0;
        for (let i = 0; i < ROUNDS; i++) {
            t = performance.now();
            const r = await conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: completionAt }) as CompletionList | null;
            completion.push(performance.now() - t);
            items = r?.items.length ?? 0;
        }
        console.log(`completion (bridge reference, ${items} items): ${stats(completion)} — ${goal(median(completion), 50)}`);

        // While typing: completion asked right after an edit waits for that edit's parse and link (not its validation).
        const typing: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
            const toSmall = version % 2 === 1;
            const range = { start: marker, end: { line: marker.line, character: marker.character + (toSmall ? 4 : 3) } };
            const validated = diagnosticsWhere((p) => hasMarker(p) === toSmall);
            await conn.sendNotification('textDocument/didChange', {
                textDocument: { uri, version: ++version }, contentChanges: [{ range, text: toSmall ? '64M' : '256M' }],
            });
            t = performance.now();
            await conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: completionAt });
            typing.push(performance.now() - t);
            await validated;
        }
        console.log(`completion right after an edit: ${stats(typing)}`);
        const afterTyping = rssOf(server.pid!);

        for (const [what, position] of Object.entries(hoverAt)) {
            const hover: number[] = [];
            let chars = 0;
            for (let i = 0; i < ROUNDS; i++) {
                t = performance.now();
                const r = await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position }) as Hover | null;
                hover.push(performance.now() - t);
                chars = r && typeof r.contents === 'object' && 'value' in r.contents ? r.contents.value.length : 0;
            }
            console.log(`hover on ${what} (${chars} chars): ${stats(hover)}`);
        }

        const mem = rssOf(server.pid!);
        console.log(`server memory (RSS): ${afterOpen.rss.toFixed(0)} MiB after open, ${afterEdits.rss.toFixed(0)} after the edits, ` +
            `${afterTyping.rss.toFixed(0)} after typing, ${mem.rss.toFixed(0)} at the end; peak ${mem.hwm.toFixed(0)} MiB`);

        await conn.sendRequest('shutdown');
        await conn.sendNotification('exit');
    } finally {
        conn.dispose();
        server.kill();
        rmSync(dir, { recursive: true, force: true });
    }

    await inProcessBreakdown(text);
}

/** Where one full rebuild spends its time, measured in this process with the same services. */
async function inProcessBreakdown(text: string): Promise<void> {
    const { EmptyFileSystem, URI, DocumentState } = await import('langium');
    const { createVtopoServices } = await import('../../src/language/vtopo-module.js');
    const { shared } = createVtopoServices(EmptyFileSystem);
    const phases: Record<string, number[]> = { parse: [], 'index+scope+link': [], validate: [], total: [] };
    for (let i = 0; i < 8; i++) {
        const uri = URI.parse(`file:///bench/in-process-${i}.vtopo`);
        const t0 = performance.now();
        const doc = shared.workspace.LangiumDocumentFactory.fromString(text, uri);
        const t1 = performance.now();
        shared.workspace.LangiumDocuments.addDocument(doc);
        let t2 = 0;
        const off = shared.workspace.DocumentBuilder.onBuildPhase(DocumentState.Linked, () => { t2 = performance.now(); });
        await shared.workspace.DocumentBuilder.build([doc], { validation: true });
        const t3 = performance.now();
        off.dispose();
        shared.workspace.LangiumDocuments.deleteDocument(uri);
        if (i < 3) continue; // warm-up
        phases.parse.push(t1 - t0);
        phases['index+scope+link'].push(t2 - t1);
        phases.validate.push(t3 - t2);
        phases.total.push(t3 - t0);
    }
    console.log('in-process rebuild breakdown (medians): ' + Object.entries(phases).map(([k, v]) => `${k} ${median(v).toFixed(1)} ms`).join(', '));
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
