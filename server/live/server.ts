/**
 * The language server's live half: it hosts the runtime (the same functions
 * the CLI calls), answers the custom requests of src/extension/protocol.ts,
 * follows deployed topologies through runtime.watch (push, no file polling
 * here) and publishes runtime facts as diagnostics merged with the checker's
 * own, so neither publish wipes the other.
 */
import { DocumentState, URI, type AstNode, type LangiumDocument } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import type { Connection, PublishDiagnosticsParams } from 'vscode-languageserver';
import type { Diagnostic } from 'vscode-languageserver-types';
import type { Model } from '../../src/language/generated/ast.js';
import type { ProgressEvent, VtopoRuntime } from '../../src/core/api.js';
import type { Status } from '../../src/core/status.js';
import {
    CaptureStartRequest, CaptureStopRequest, ConsoleReleaseNotification, GuestRequest, ImpairRequest, LinkRequest, ConsoleRequest, DeployRequest, DestroyRequest, ExportRequest, PlanRequest,
    ProgressNotification, StatusNotification, StatusRequest, TopologiesChangedNotification, TopologiesRequest, VerifyRequest,
    type CaptureStarted, type CaptureStopped, type ConsoleTarget, type ExportFormat, type ExportResult, type Outcome,
    type TopologyModel, type TopologyView,
} from '../../src/core/lsp-protocol.js';
import { documentModels } from './model.js';
import { expectationDiagnostics, liveDiagnostics } from './diagnostics.js';
import { liveHover, type HoverTarget } from './hover.js';
import { fsFailure } from '../../src/host/fs-errors.js';

/** The runtime plus the optional extras some commands need; absent extras answer with a VtopoError-style failure. */
export interface LiveRuntime extends VtopoRuntime {
    exportTopology?(file: string, format: ExportFormat, host?: string): Promise<ExportResult>;
    /** Gives back the console lock consoleTarget took for the editor's terminal. */
    releaseConsole?(file: string, vm: string): void;
    consoleTarget?(file: string, vm: string): Promise<ConsoleTarget>;
    startCapture?(file: string, port: string, pcapFile: string): Promise<CaptureStarted>;
    stopCapture?(file: string, port: string): Promise<CaptureStopped>;
}

export interface LiveServerOptions {
    /** How often runtime.watch must push even when nothing changed. */
    watchIntervalMs?: number;
}

type HoverAugmentable = { addHoverAugmenter?(fn: (node: AstNode, doc: LangiumDocument) => string | undefined): unknown };

interface Tracked {
    file: string;
    status?: Status;
    prev?: Status;
    watcher?: { close(): void };
    lastLive?: string;
    lastKey?: string;
}

export function failure(err: unknown): Outcome<never> {
    const e = (fsFailure(err) ?? err) as { message?: string; fix?: string; code?: string };
    const message = typeof e?.message === 'string' ? e.message : String(err);
    return { ok: false, error: { message, ...(e?.fix ? { fix: e.fix } : {}), ...(e?.code ? { code: e.code } : {}) } };
}

function missing(what: string): Outcome<never> {
    return { ok: false, error: { message: `this vtopo build has no ${what}`, fix: 'update vtopo (the runtime part is missing from this build), or use the CLI' } };
}

export class LiveServer {
    private readonly models = new Map<string, TopologyModel[]>();
    /** JSON of each document's models as last sent, so a rebuild serialises only the new ones to compare. */
    private readonly modelJson = new Map<string, string>();
    private readonly validation = new Map<string, Diagnostic[]>();
    private readonly tracked = new Map<string, Tracked>();
    /** Failed expectations of the last Verify, per document. */
    private readonly expectations = new Map<string, Diagnostic[]>();
    private readonly busy = new Map<string, string>();
    private runtime?: Promise<LiveRuntime>;
    private readonly rawSend: (p: PublishDiagnosticsParams) => Promise<void>;

    constructor(
        private readonly connection: Connection,
        private readonly shared: LangiumSharedServices,
        private readonly loadRuntime: () => Promise<LiveRuntime>,
        private readonly options: LiveServerOptions = {},
    ) {
        // Langium publishes the checker's diagnostics through this one call:
        // remember them per document and append the live ones.
        this.rawSend = connection.sendDiagnostics.bind(connection);
        connection.sendDiagnostics = (p: PublishDiagnosticsParams) => {
            this.validation.set(p.uri, p.diagnostics);
            return this.rawSend({ ...p, diagnostics: [...p.diagnostics, ...this.liveFor(p.uri)] });
        };
    }

    /** Registers listeners and handlers; call before startLanguageServer so models update before Langium publishes. */
    start(): void {
        const builder = this.shared.workspace.DocumentBuilder;
        builder.onDocumentPhase(DocumentState.Validated, (doc) => this.onDocument(doc as LangiumDocument<Model>));
        builder.onUpdate((_, deleted) => {
            const uris = deleted.map((u) => u.toString()).filter((u) => {
                this.modelJson.delete(u);
                return this.models.delete(u);
            });
            if (uris.length) void this.connection.sendNotification(TopologiesChangedNotification, { uris });
        });
        const c = this.connection;
        c.onRequest(PlanRequest, (p) => this.op(p.uri, 'plan', (rt, file) => rt.plan(file, { onProgress: this.progress(p.progressId) })));
        c.onRequest(VerifyRequest, (p) => this.op(p.uri, 'verify', async (rt, file) => {
            const r = await rt.verify(file, { onProgress: this.progress(p.progressId) });
            // A failed expectation is a diagnostic on its line until the next Verify (or Destroy).
            this.expectations.set(p.uri, expectationDiagnostics(r));
            this.publishLive(p.uri);
            return r;
        }));
        c.onRequest(StatusRequest, (p) => this.run(p.uri, async (rt, file) => {
            const s = await rt.status(file);
            this.onStatus(p.uri, s);
            return s;
        }));
        c.onRequest(DeployRequest, (p) => this.op(p.uri, 'deploy', async (rt, file) => {
            const r = await rt.deploy(file, { onProgress: this.progress(p.progressId) });
            this.onStatus(p.uri, r.status);
            this.watch(p.uri);
            return r;
        }));
        c.onRequest(DestroyRequest, (p) => this.op(p.uri, 'destroy', async (rt, file) => {
            this.unwatch(p.uri);
            this.expectations.delete(p.uri);
            await rt.destroy(file, { onProgress: this.progress(p.progressId) });
            const s = await rt.status(file).catch(() => null);
            this.onStatus(p.uri, s);
            return s;
        }));
        c.onRequest(ExportRequest, (p) => this.run(p.uri, (rt, file) => rt.exportTopology ? rt.exportTopology(file, p.format, p.host) : Promise.reject(missingErr('export'))));
        c.onRequest(ConsoleRequest, (p) => this.run(p.uri, (rt, file) => rt.consoleTarget ? rt.consoleTarget(file, p.vm) : Promise.reject(missingErr('guest console'))));
        c.onNotification(ConsoleReleaseNotification, (p) => void this.run(p.uri, async (rt, file) => rt.releaseConsole?.(file, p.vm)));
        c.onRequest(CaptureStartRequest, (p) => this.run(p.uri, (rt, file) => rt.startCapture ? rt.startCapture(file, p.port, p.file) : Promise.reject(missingErr('capture'))));
        c.onRequest(CaptureStopRequest, (p) => this.run(p.uri, (rt, file) => rt.stopCapture ? rt.stopCapture(file, p.port) : Promise.reject(missingErr('capture'))));
        c.onRequest(GuestRequest, (p) => this.op(p.uri, p.action, async (rt, file) => {
            const opts = { onProgress: this.progress(p.progressId) };
            const r = await (p.action === 'start' ? rt.startVm(file, p.vm, opts) : p.action === 'stop' ? rt.stopVm(file, p.vm, opts) : rt.restartVm(file, p.vm, opts));
            this.onStatus(p.uri, await rt.status(file));
            return r;
        }));
        c.onRequest(LinkRequest, (p) => this.run(p.uri, async (rt, file) => {
            await rt.setLink(file, p.port, p.up);
            this.onStatus(p.uri, await rt.status(file));
            return null;
        }));
        c.onRequest(ImpairRequest, (p) => this.run(p.uri, async (rt, file) => {
            const r = await rt.impair(file, p.port, p.impair);
            this.onStatus(p.uri, await rt.status(file));
            return r;
        }));
        c.onRequest(TopologiesRequest, async (p) => {
            if (p.recheck) await this.recheck();
            return this.views(p.uri);
        });
    }

    /** Adds live counters to hovers when the language's hover provider accepts augmenters. */
    augmentHovers(provider: unknown): void {
        const hp = provider as HoverAugmentable;
        hp.addHoverAugmenter?.((node, doc) => {
            const status = this.tracked.get(doc.uri.toString())?.status;
            const target = hoverTarget(node);
            return target ? liveHover(target, status) : undefined;
        });
    }

    views(uri?: string): TopologyView[] {
        const out: TopologyView[] = [];
        for (const [u, ms] of this.models) {
            if (uri && u !== uri) continue;
            const s = this.tracked.get(u)?.status;
            for (const model of ms) out.push({ model, ...(s && s.topology === model.name ? { status: s } : {}) });
        }
        return out.sort((a, b) => a.model.name.localeCompare(b.model.name) || a.model.uri.localeCompare(b.model.uri));
    }

    dispose(): void {
        for (const t of this.tracked.values()) t.watcher?.close();
    }

    private rt(): Promise<LiveRuntime> {
        this.runtime ??= this.loadRuntime();
        this.runtime.catch(() => { this.runtime = undefined; });
        return this.runtime;
    }

    private onDocument(doc: LangiumDocument<Model>): void {
        const uri = doc.uri.toString();
        const models = documentModels(doc.parseResult?.value, uri, doc.uri.fsPath);
        const json = JSON.stringify(models);
        const before = this.modelJson.get(uri) ?? '[]';
        this.models.set(uri, models);
        this.modelJson.set(uri, json);
        if (before !== json) void this.connection.sendNotification(TopologiesChangedNotification, { uris: [uri] });
        if (doc.uri.scheme === 'file' && models.length && !this.tracked.has(uri)) {
            // First sight: ask once whether it is deployed (e.g. by the CLI); follow it by push if so.
            this.tracked.set(uri, { file: doc.uri.fsPath });
            this.rt().then((rt) => rt.status(doc.uri.fsPath)).then((s) => {
                this.onStatus(uri, s);
                if (s.deployed) this.watch(uri);
            }, () => undefined);
        }
    }

    private onStatus(uri: string, status: Status | null): void {
        const t = this.tracked.get(uri) ?? { file: URI.parse(uri).fsPath };
        this.tracked.set(uri, t);
        t.prev = t.status;
        t.status = status ?? undefined;
        // watch also pushes unchanged statuses (a heartbeat): only changes reach the editor.
        const live = JSON.stringify(this.liveFor(uri));
        if (live !== t.lastLive) {
            t.lastLive = live;
            this.publishLive(uri);
        }
        const key = status ? JSON.stringify({ ...status, at: undefined, datapaths: status.datapaths.map((d) => ({ ...d, uptime_s: undefined })) }) : 'null';
        if (key !== t.lastKey) {
            t.lastKey = key;
            void this.connection.sendNotification(StatusNotification, { uri, topology: status?.topology ?? '', status });
        }
        if (status && !status.deployed) this.unwatch(uri);
    }

    /** Asks the runtime again about every topology not followed by a watch (e.g. deployed from the CLI meanwhile). */
    private async recheck(): Promise<void> {
        const rt = await this.rt().catch(() => undefined);
        if (!rt) return;
        await Promise.all([...this.tracked.entries()].filter(([, t]) => !t.watcher).map(async ([uri, t]) => {
            try {
                const s = await rt.status(t.file);
                this.onStatus(uri, s);
                if (s.deployed) this.watch(uri);
            } catch { /* a file that does not load has no status */ }
        }));
    }

    private watch(uri: string): void {
        const t = this.tracked.get(uri);
        if (!t || t.watcher) return;
        void this.rt().then((rt) => {
            if (t.watcher) return;
            t.watcher = rt.watch(t.file, (s) => this.onStatus(uri, s), this.options.watchIntervalMs ?? 2000);
        }, () => undefined);
    }

    private unwatch(uri: string): void {
        const t = this.tracked.get(uri);
        t?.watcher?.close();
        if (t) t.watcher = undefined;
    }

    private liveFor(uri: string): Diagnostic[] {
        const t = this.tracked.get(uri);
        const verified = this.expectations.get(uri) ?? [];
        if (!t?.status) return verified;
        return [...(this.models.get(uri) ?? []).flatMap((m) => liveDiagnostics(m, t.status, t.prev)), ...verified];
    }

    private publishLive(uri: string): void {
        void this.rawSend({ uri, diagnostics: [...(this.validation.get(uri) ?? []), ...this.liveFor(uri)] });
    }

    private progress(progressId: string): (e: ProgressEvent) => void {
        return (event) => { void this.connection.sendNotification(ProgressNotification, { progressId, event }); };
    }

    private async run<T>(uri: string, fn: (rt: LiveRuntime, file: string) => Promise<T>): Promise<Outcome<T>> {
        try {
            const u = URI.parse(uri);
            if (u.scheme !== 'file') return { ok: false, error: { message: `${uri} is not a file on disk`, fix: 'save the topology to a .vtopo file first' } };
            return { ok: true, value: await fn(await this.rt(), u.fsPath) };
        } catch (err) {
            return failure(err);
        }
    }

    /** Runs a long operation, one at a time per file: a second deploy while one runs would race on the same sockets. */
    private async op<T>(uri: string, name: string, fn: (rt: LiveRuntime, file: string) => Promise<T>): Promise<Outcome<T>> {
        const running = this.busy.get(uri);
        if (running) return { ok: false, error: { message: `a ${running} of this topology is still running`, fix: `wait for the ${running} to finish, then try again` } };
        this.busy.set(uri, name);
        try {
            return await this.run(uri, fn);
        } finally {
            this.busy.delete(uri);
        }
    }
}

function missingErr(what: string): Error & { fix?: string } {
    const f = missing(what);
    return Object.assign(new Error(f.ok ? '' : f.error.message), { fix: f.ok ? undefined : f.error.fix });
}

function hoverTarget(node: AstNode): HoverTarget | undefined {
    const n = node as AstNode & { name?: string; $container?: AstNode & { name?: string } };
    if (n.$type === 'Vm' && n.name) return { kind: 'vm', vm: n.name };
    if (n.$type === 'Port' && n.name && n.$container?.name) return { kind: 'port', id: `${n.$container.name}.${n.name}` };
    if (n.$type === 'Nic' && n.name) return { kind: 'nic', name: n.name };
    return undefined;
}
