/**
 * A small RFC 7047 (OVSDB management protocol) client: JSON-RPC 1.0 over a
 * unix or TCP stream. It answers the server's `echo`, keeps monitors alive
 * across reconnects (re-sending them and diffing the fresh initial state
 * against its row cache, so a row deleted while we were away still shows as
 * a delete), and turns per-operation transact errors into exceptions.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { JsonStreamSplitter } from './framing.js';
import type { OpResult, Operation, Row } from './values.js';

export interface ClientOptions {
    /** Reconnect with exponential backoff when the stream drops. */
    reconnect?: boolean;
    backoffMinMs?: number;
    backoffMaxMs?: number;
    /** Per-request timeout; 0 disables. */
    requestTimeoutMs?: number;
    connectTimeoutMs?: number;
}

/** The server answered a request with a JSON-RPC error. */
export class OvsdbRpcError extends Error {
    constructor(readonly method: string, readonly error: unknown) {
        super(`OVSDB ${method} failed: ${describeError(error)}`);
        this.name = 'OvsdbRpcError';
    }
}

/** One operation of a transaction failed; the whole transaction was rolled back. */
export class OvsdbTransactError extends Error {
    constructor(
        readonly results: (OpResult | null)[],
        readonly index: number,
        readonly error: string,
        readonly details?: string,
        readonly operation?: Operation,
    ) {
        super(`OVSDB transaction failed${operation ? ` at ${operation.op} ${'table' in operation ? operation.table : ''}` : ''}: ${error}${details ? ` (${details})` : ''}`);
        this.name = 'OvsdbTransactError';
    }
}

export class OvsdbDisconnectedError extends Error {
    constructor(message = 'OVSDB connection closed') {
        super(message);
        this.name = 'OvsdbDisconnectedError';
    }
}

interface Pending {
    method: string;
    resolve: (v: unknown) => void;
    reject: (e: Error) => void;
    timer?: NodeJS.Timeout;
}

export interface MonitorRequest {
    columns?: string[];
    select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}

export interface RowChange {
    table: string;
    uuid: string;
    kind: 'insert' | 'modify' | 'delete';
    /** The row now (all monitored columns); absent on delete. */
    row?: Row;
    /** The row before (all monitored columns); absent on insert. */
    old?: Row;
    /** True for rows reported by a (re)subscription's initial state. */
    initial: boolean;
}

type TableUpdates = Record<string, Record<string, { old?: Row; new?: Row }>>;

/**
 * A live subscription. `tables` always holds the current rows of every
 * monitored table (uuid → row); listeners get row-level changes.
 */
export class Monitor extends EventEmitter {
    readonly tables = new Map<string, Map<string, Row>>();

    constructor(
        readonly client: OvsdbClient,
        readonly id: string,
        readonly db: string,
        readonly requests: Record<string, MonitorRequest>,
    ) {
        super();
        for (const t of Object.keys(requests)) this.tables.set(t, new Map());
    }

    onChange(fn: (changes: RowChange[]) => void): this {
        return this.on('change', fn);
    }

    rows(table: string): Row[] {
        return [...(this.tables.get(table)?.values() ?? [])];
    }

    async cancel(): Promise<void> {
        await this.client.cancelMonitor(this);
    }

    /** @internal applies a table-updates object from the server. */
    apply(updates: TableUpdates, initial: boolean, resync: boolean): void {
        const changes: RowChange[] = [];
        const seen = new Map<string, Set<string>>();
        for (const [table, rows] of Object.entries(updates ?? {})) {
            const cache = this.tables.get(table) ?? new Map<string, Row>();
            this.tables.set(table, cache);
            const seenHere = new Set<string>();
            seen.set(table, seenHere);
            for (const [uuid, u] of Object.entries(rows)) {
                seenHere.add(uuid);
                const before = cache.get(uuid);
                if (u.new) {
                    // `new` carries every monitored column; `old` only the changed ones.
                    const row = { ...u.new };
                    cache.set(uuid, row);
                    if (resync && before && sameRow(before, row)) continue;
                    changes.push({ table, uuid, kind: before || u.old ? 'modify' : 'insert', row, old: before ?? (u.old ? { ...u.old } : undefined), initial });
                } else {
                    cache.delete(uuid);
                    changes.push({ table, uuid, kind: 'delete', old: before ?? u.old, initial });
                }
            }
        }
        if (resync) {
            // Rows that vanished while we were disconnected.
            for (const [table, cache] of this.tables) {
                const seenHere = seen.get(table) ?? new Set<string>();
                for (const [uuid, row] of [...cache]) {
                    if (seenHere.has(uuid)) continue;
                    cache.delete(uuid);
                    changes.push({ table, uuid, kind: 'delete', old: row, initial });
                }
            }
        }
        if (changes.length > 0) this.emit('change', changes);
    }
}

export class OvsdbClient extends EventEmitter {
    private socket?: net.Socket;
    private splitter = new JsonStreamSplitter();
    private pending = new Map<number, Pending>();
    private nextId = 1;
    private monitors = new Map<string, Monitor>();
    private closed = false;
    private backoff: number;
    private reconnectTimer?: NodeJS.Timeout;
    private readonly opts: Required<ClientOptions>;

    private constructor(readonly target: string, opts: ClientOptions) {
        super();
        this.opts = {
            reconnect: opts.reconnect ?? false,
            backoffMinMs: opts.backoffMinMs ?? 100,
            backoffMaxMs: opts.backoffMaxMs ?? 4000,
            requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
            connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
        };
        this.backoff = this.opts.backoffMinMs;
    }

    /**
     * Connects to `unix:PATH`, `tcp:HOST:PORT` or a bare socket path. With
     * `reconnect`, a failed first attempt is an error but later drops are retried.
     */
    static async connect(target: string, opts: ClientOptions = {}): Promise<OvsdbClient> {
        const c = new OvsdbClient(target, opts);
        await c.open();
        return c;
    }

    get connected(): boolean {
        return !!this.socket && !this.socket.destroyed && !this.closed;
    }

    /** Sends a request; `id` lets a caller `cancel` it (RFC 7047 §4.1.4). */
    start<T = unknown>(method: string, params: unknown[], timeoutMs = this.opts.requestTimeoutMs): { id: number; result: Promise<T> } {
        const id = this.nextId++;
        const result = new Promise<T>((resolve, reject) => {
            if (!this.connected) {
                reject(new OvsdbDisconnectedError(`OVSDB ${method}: not connected to ${this.target}`));
                return;
            }
            const p: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
            if (timeoutMs > 0) {
                p.timer = setTimeout(() => {
                    this.pending.delete(id);
                    reject(new Error(`OVSDB ${method}: no answer from ${this.target} within ${timeoutMs} ms`));
                }, timeoutMs);
            }
            this.pending.set(id, p);
            this.send({ method, params, id });
        });
        return { id, result };
    }

    request<T = unknown>(method: string, params: unknown[], timeoutMs?: number): Promise<T> {
        return this.start<T>(method, params, timeoutMs).result;
    }

    notify(method: string, params: unknown[]): void {
        this.send({ method, params, id: null });
    }

    /**
     * Asks the server to abandon an outstanding request, which then fails
     * with "canceled". RFC 7047 says the server answers the request with that
     * error; ovsdb-server 3.1 drops the request silently (measured), so we
     * fail it here and ignore a late answer.
     */
    cancel(id: number): void {
        this.notify('cancel', [id]);
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        p.reject(new OvsdbRpcError(p.method, 'canceled'));
    }

    echo(payload: unknown[] = []): Promise<unknown[]> {
        return this.request('echo', payload);
    }

    listDbs(): Promise<string[]> {
        return this.request('list_dbs', []);
    }

    getSchema(db: string): Promise<Schema> {
        return this.request('get_schema', [db]);
    }

    /**
     * Runs operations atomically. Resolves with one result per operation;
     * rejects with OvsdbTransactError when any operation (or the commit's
     * constraint check, reported as an extra trailing result) failed.
     */
    async transact(db: string, ops: Operation[], timeoutMs?: number): Promise<OpResult[]> {
        const results = await this.request<(OpResult | null)[]>('transact', [db, ...ops], timeoutMs);
        checkTransact(results, ops);
        return results as OpResult[];
    }

    /** Starts a transaction that can be cancelled with `cancel(id)`. */
    startTransact(db: string, ops: Operation[], timeoutMs?: number): { id: number; result: Promise<OpResult[]> } {
        const { id, result } = this.start<(OpResult | null)[]>('transact', [db, ...ops], timeoutMs);
        return {
            id,
            result: result.then((r) => {
                checkTransact(r, ops);
                return r as OpResult[];
            }),
        };
    }

    /** Subscribes to tables; resolves once the initial state is applied to `monitor.tables`. */
    async monitor(db: string, requests: Record<string, MonitorRequest>, onChange?: (changes: RowChange[]) => void): Promise<Monitor> {
        const id = `m${this.nextId++}`;
        const m = new Monitor(this, id, db, requests);
        if (onChange) m.onChange(onChange);
        this.monitors.set(id, m);
        try {
            const initial = await this.request<TableUpdates>('monitor', [db, id, requests]);
            m.apply(initial, true, false);
        } catch (e) {
            this.monitors.delete(id);
            throw e;
        }
        return m;
    }

    async cancelMonitor(m: Monitor): Promise<void> {
        if (!this.monitors.delete(m.id)) return;
        if (this.connected) await this.request('monitor_cancel', [m.id]).catch(() => undefined);
    }

    /** Closes for good: no reconnect, pending requests fail. */
    close(): void {
        this.closed = true;
        if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
        this.socket?.destroy();
        this.socket = undefined;
        this.failPending(new OvsdbDisconnectedError());
    }

    private open(): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            const sock = connectTarget(this.target);
            let settled = false;
            const timer = setTimeout(() => {
                if (settled) return;
                settled = true;
                sock.destroy();
                reject(new Error(`OVSDB: connecting to ${this.target} timed out`));
            }, this.opts.connectTimeoutMs);
            sock.once('connect', () => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                this.attach(sock);
                resolve();
            });
            sock.once('error', (e) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                reject(e);
            });
        });
    }

    private attach(sock: net.Socket): void {
        this.socket = sock;
        this.splitter.reset();
        this.backoff = this.opts.backoffMinMs;
        sock.on('data', (chunk: Buffer) => {
            let msgs: unknown[];
            try {
                msgs = this.splitter.push(chunk);
            } catch (e) {
                this.emit('protocol-error', e);
                sock.destroy();
                return;
            }
            for (const m of msgs) this.dispatch(m as Message);
        });
        sock.on('error', (e) => this.emit('socket-error', e));
        sock.on('close', () => {
            if (this.socket !== sock) return;
            this.socket = undefined;
            this.failPending(new OvsdbDisconnectedError(`OVSDB connection to ${this.target} lost`));
            this.emit('disconnect');
            if (!this.closed && this.opts.reconnect) this.scheduleReconnect();
        });
    }

    private scheduleReconnect(): void {
        const delay = this.backoff;
        this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
        this.reconnectTimer = setTimeout(async () => {
            if (this.closed) return;
            try {
                await this.open();
            } catch {
                this.scheduleReconnect();
                return;
            }
            await this.resubscribe();
            this.emit('reconnect');
        }, delay);
    }

    private async resubscribe(): Promise<void> {
        for (const m of [...this.monitors.values()]) {
            try {
                const initial = await this.request<TableUpdates>('monitor', [m.db, m.id, m.requests]);
                m.apply(initial, true, true);
            } catch (e) {
                this.emit('monitor-error', m, e);
            }
        }
    }

    private dispatch(msg: Message): void {
        if (msg.method !== undefined) {
            this.handleServerMessage(msg);
            return;
        }
        if (typeof msg.id !== 'number') return;
        const p = this.pending.get(msg.id);
        if (!p) return; // timed out or cancelled earlier
        this.pending.delete(msg.id);
        if (p.timer) clearTimeout(p.timer);
        if (msg.error !== null && msg.error !== undefined) p.reject(new OvsdbRpcError(p.method, msg.error));
        else p.resolve(msg.result);
    }

    private handleServerMessage(msg: Message): void {
        const params = Array.isArray(msg.params) ? msg.params : [];
        if (msg.method === 'echo' && msg.id !== null && msg.id !== undefined) {
            this.send({ result: params, error: null, id: msg.id });
            return;
        }
        if (msg.method === 'update' && params.length >= 2) {
            const m = this.monitors.get(String(params[0]));
            m?.apply(params[1] as TableUpdates, false, false);
            return;
        }
        if (msg.id !== null && msg.id !== undefined) {
            this.send({ result: null, error: `unknown method ${msg.method}`, id: msg.id });
            return;
        }
        this.emit('notification', msg.method, params);
    }

    private send(obj: unknown): void {
        this.socket?.write(JSON.stringify(obj));
    }

    private failPending(err: Error): void {
        const all = [...this.pending.values()];
        this.pending.clear();
        for (const p of all) {
            if (p.timer) clearTimeout(p.timer);
            p.reject(err);
        }
    }
}

interface Message {
    method?: string;
    params?: unknown[];
    id?: number | string | null;
    result?: unknown;
    error?: unknown;
}

export interface Schema {
    name: string;
    version: string;
    tables: Record<string, { columns: Record<string, unknown>; isRoot?: boolean; indexes?: string[][] }>;
}

function connectTarget(target: string): net.Socket {
    if (target.startsWith('tcp:')) {
        const rest = target.slice(4);
        const i = rest.lastIndexOf(':');
        return net.connect({ host: rest.slice(0, i), port: Number(rest.slice(i + 1)) });
    }
    const path = target.startsWith('unix:') ? target.slice(5) : target;
    return net.connect({ path });
}

function checkTransact(results: (OpResult | null)[], ops: Operation[]): void {
    if (!Array.isArray(results)) throw new Error('OVSDB transact: answer is not an array');
    for (let i = 0; i < results.length; i++) {
        const r = results[i];
        if (r && typeof r.error === 'string') {
            throw new OvsdbTransactError(results, i, r.error, r.details, ops[i]);
        }
    }
}

function describeError(e: unknown): string {
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object') {
        const o = e as { error?: string; details?: string };
        if (o.error) return o.details ? `${o.error}: ${o.details}` : o.error;
    }
    return JSON.stringify(e);
}

function sameRow(a: Row, b: Row): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}
