/**
 * The language server's live half over a real LSP connection (in-memory
 * streams) with a scripted runtime: live diagnostics merge with the
 * checker's (neither publish wipes the other), clear when the fact clears,
 * status arrives by push, runtime failures keep their fix, progress streams.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { EmptyFileSystem } from 'langium';
import { startLanguageServer } from 'langium/lsp';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { createConnection } from 'vscode-languageserver/node.js';
import type { Diagnostic } from 'vscode-languageserver-types';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVtopoServices } from '../../src/language/vtopo-module.js';
import { LiveServer, type LiveRuntime } from '../../server/live/server.js';
import { VtopoError } from '../../src/core/api.js';
import type { Status } from '../../src/core/status.js';
import { DeployRequest, ExportRequest, ImpairRequest, ProgressNotification, StatusNotification, TopologiesRequest } from '../../src/core/lsp-protocol.js';

const URI = 'file:///nonexistent/vtopo-live/lab.vtopo';
const text = readFileSync('test/fixtures/design-example.vtopo', 'utf8');

function status(webState: 'running' | 'crashed'): Status {
    return {
        topology: 'lab', file: '/nonexistent/vtopo-live/lab.vtopo', deployed: true, at: new Date().toISOString(),
        datapaths: [{ kind: 'embedded', running: true }],
        vms: [{ name: 'web', state: webState, ...(webState === 'crashed' ? { reason: 'qemu-system-x86_64: cannot set up guest memory' } : {}) }, { name: 'db', state: 'running' }],
        ports: [],
    };
}

const unused = () => Promise.reject(new Error('not used by this test'));
/** The lab operations (start, exec, capture, …): this test drives none of them. */
const labUnused = { startVm: unused, stopVm: unused, restartVm: unused, exec: unused, attachConsole: unused, capture: unused, setLink: unused, impair: unused };

const impaired: { file: string; target: string; spec: object }[] = [];

/** A runtime whose watch the test drives by hand. */
function scriptedRuntime() {
    let push: ((s: Status) => void) | undefined;
    let watches = 0;
    const rt: LiveRuntime = {
        plan: async () => ({ text: '', actions: [], notes: [] }),
        deploy: async (_file, opts) => {
            opts?.onProgress?.({ step: 'check', phase: 'start', message: 'checking lab' });
            throw new VtopoError('hugepages: 512M requested, 0 free', 'free hugepages or lower `hugepages` in the host block');
        },
        destroy: async () => undefined,
        status: async () => status('crashed'),
        verify: async () => ({ pairs: [] }),
        watch: (_file, onStatus) => { watches++; push = onStatus; return { close() { push = undefined; } }; },
        ...labUnused,
        impair: async (file, target, spec) => {
            if (target !== 'web.eth0') throw new VtopoError(`no port or link '${target}' in topology lab`, 'pick one of: web.eth0, db.eth0');
            impaired.push({ file, target, spec });
            return { target, datapath: 'embedded', impair: spec, text: `${target}: impaired` };
        },
    };
    return { rt, push: (s: Status) => push?.(s), watches: () => watches };
}

let client: MessageConnection;
let live: LiveServer;
const published: PublishDiagnosticsParams[] = [];
const statuses: (Status | null)[] = [];
const progress: string[] = [];
const script = scriptedRuntime();

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = fn();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

const lastFor = (uri: string) => [...published].reverse().find((p) => p.uri === uri);
const codes = (ds: Diagnostic[]) => ds.map((d) => String(d.code));

beforeAll(async () => {
    const c2s = new PassThrough();
    const s2c = new PassThrough();
    const connection = createConnection(new StreamMessageReader(c2s), new StreamMessageWriter(s2c));
    const { shared } = createVtopoServices({ connection, ...EmptyFileSystem });
    live = new LiveServer(connection, shared, async () => script.rt);
    live.start();
    startLanguageServer(shared);

    client = createMessageConnection(new StreamMessageReader(s2c), new StreamMessageWriter(c2s));
    client.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => { published.push(p); });
    client.onNotification(StatusNotification, (p) => { statuses.push(p.status); });
    client.onNotification(ProgressNotification, (p) => { progress.push(p.event.message); });
    client.onRequest('client/registerCapability', () => null);
    client.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
    client.listen();
    await client.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {}, workspaceFolders: null });
    await client.sendNotification('initialized', {});
});

afterAll(() => {
    live?.dispose();
    client?.dispose();
});

describe('live server over LSP', () => {
    it('publishes the checker\'s diagnostics and the live ones together, on the declaring line', async () => {
        await client.sendNotification('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'vtopo', version: 1, text } });
        const p = await until(() => { const l = lastFor(URI); return l && codes(l.diagnostics).includes('guest-exited') ? l : undefined; }, 'guest-exited');
        const d = p.diagnostics.find((x) => x.code === 'guest-exited')!;
        expect(d.message).toContain('cannot set up guest memory');
        expect(d.range.start.line).toBe(text.split('\n').findIndex((l) => l.includes('vm web {')));
        expect(statuses.at(-1)?.deployed).toBe(true);
        expect(script.watches()).toBe(1); // deployed at first sight: followed by push from now on
    });

    it('keeps the live diagnostic when the checker republishes, and the checker\'s when the status changes', async () => {
        const broken = text.replace('link br0 br1', 'link br0 nowhere');
        await client.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version: 2 }, contentChanges: [{ text: broken }] });
        const both = await until(() => { const l = lastFor(URI); return l && codes(l.diagnostics).includes('unresolved-reference') ? l : undefined; }, 'validation republish');
        expect(codes(both.diagnostics)).toContain('guest-exited');

        script.push(status('running'));
        const cleared = await until(() => { const l = lastFor(URI); return l && !codes(l.diagnostics).includes('guest-exited') ? l : undefined; }, 'live diagnostic to clear');
        expect(codes(cleared.diagnostics)).toContain('unresolved-reference');
        expect(statuses.at(-1)?.vms.find((v) => v.name === 'web')?.state).toBe('running');

        const views = await client.sendRequest(TopologiesRequest, {});
        expect(views.map((v) => [v.model.name, v.status?.deployed])).toEqual([['lab', true]]);
    });

    it('streams progress and returns runtime failures with their fix; a missing extra says so', async () => {
        const r = await client.sendRequest(DeployRequest, { uri: URI, progressId: 'p1' });
        expect(r).toEqual({ ok: false, error: { message: 'hugepages: 512M requested, 0 free', fix: 'free hugepages or lower `hugepages` in the host block' } });
        await until(() => (progress.includes('checking lab') ? true : undefined), 'progress');
        const e = await client.sendRequest(ExportRequest, { uri: URI, format: 'qemu' });
        expect(e.ok).toBe(false);
        if (!e.ok) expect(e.error.fix).toBeTruthy();
        const notFile = await client.sendRequest(DeployRequest, { uri: 'untitled:Untitled-1', progressId: 'p2' });
        expect(notFile.ok).toBe(false);
    });

    it('Impair… reaches the runtime with the file path and the whole impairment; a bad port comes back with its fix', async () => {
        const r = await client.sendRequest(ImpairRequest, { uri: URI, port: 'web.eth0', impair: { delayUs: 20_000, lossPct: 1 } });
        expect(r).toEqual({ ok: true, value: { target: 'web.eth0', datapath: 'embedded', impair: { delayUs: 20_000, lossPct: 1 }, text: 'web.eth0: impaired' } });
        expect(impaired).toEqual([{ file: '/nonexistent/vtopo-live/lab.vtopo', target: 'web.eth0', spec: { delayUs: 20_000, lossPct: 1 } }]);
        const bad = await client.sendRequest(ImpairRequest, { uri: URI, port: 'zz.eth0', impair: {} });
        expect(bad).toEqual({ ok: false, error: { message: "no port or link 'zz.eth0' in topology lab", fix: 'pick one of: web.eth0, db.eth0' } });
    });
});
