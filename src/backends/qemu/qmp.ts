/**
 * QMP client (docs/interop/qmp-spec): greeting, qmp_capabilities, then
 * `execute` with ids; asynchronous events are emitted as 'event'. EOF rejects
 * everything pending and emits 'close' so callers learn that QEMU went away.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
    event: string;
    data?: Record<string, unknown>;
    timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
    constructor(message: string, readonly qmpClass?: string) {
        super(message);
        this.name = 'QmpError';
    }
}

interface Pending {
    resolve: (v: unknown) => void;
    reject: (e: Error) => void;
}

export class QmpClient extends EventEmitter {
    private sock?: Socket;
    private buf = '';
    private nextId = 1;
    private pending = new Map<string, Pending>();
    private greeting?: (v: unknown) => void;
    private closed = false;
    /** QEMU version from the greeting. */
    version?: { major: number; minor: number; micro: number };

    private constructor(private readonly path: string) {
        super();
    }

    /**
     * Connects and negotiates capabilities. While QEMU waits for a vhost-user
     * peer it accepts the connection but stays silent: the timeout covers that.
     */
    static async connect(path: string, opts: { timeoutMs?: number } = {}): Promise<QmpClient> {
        const c = new QmpClient(path);
        await c.open(opts.timeoutMs ?? 3000);
        return c;
    }

    private open(timeoutMs: number): Promise<void> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.close();
                reject(new QmpError(`QMP ${this.path}: no greeting within ${timeoutMs} ms`, 'Timeout'));
            }, timeoutMs);
            const fail = (e: Error) => { clearTimeout(timer); this.close(); reject(e); };
            const sock = connect(this.path);
            this.sock = sock;
            sock.setEncoding('utf8');
            sock.on('error', (e) => {
                if (this.greeting) fail(e);
                this.shutdown(e);
            });
            sock.on('close', () => this.shutdown(new QmpError(`QMP ${this.path}: connection closed (QEMU exited?)`, 'EOF')));
            sock.on('data', (d: string) => this.onData(d));
            this.greeting = (g) => {
                this.greeting = undefined;
                const v = (g as { QMP?: { version?: { qemu?: QmpClient['version'] } } }).QMP?.version?.qemu;
                if (v) this.version = v;
                this.execute('qmp_capabilities').then(() => { clearTimeout(timer); resolve(); }, fail);
            };
        });
    }

    private onData(d: string): void {
        this.buf += d;
        let nl: number;
        while ((nl = this.buf.indexOf('\n')) >= 0) {
            const line = this.buf.slice(0, nl).trim();
            this.buf = this.buf.slice(nl + 1);
            if (!line) continue;
            let msg: Record<string, unknown>;
            try { msg = JSON.parse(line); } catch { continue; }
            if ('QMP' in msg) { this.greeting?.(msg); continue; }
            if ('event' in msg) { this.emit('event', msg as unknown as QmpEvent); continue; }
            const id = String(msg.id ?? '');
            const p = this.pending.get(id);
            if (!p) continue;
            this.pending.delete(id);
            if ('error' in msg) {
                const err = msg.error as { class?: string; desc?: string };
                p.reject(new QmpError(err.desc ?? 'QMP error', err.class));
            } else p.resolve(msg.return);
        }
    }

    execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
        if (this.closed || !this.sock) return Promise.reject(new QmpError(`QMP ${this.path}: not connected`, 'EOF'));
        const id = String(this.nextId++);
        return new Promise<T>((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new QmpError(`QMP ${command}: no answer within ${timeoutMs} ms`, 'Timeout'));
            }, timeoutMs);
            this.pending.set(id, {
                resolve: (v) => { clearTimeout(timer); resolve(v as T); },
                reject: (e) => { clearTimeout(timer); reject(e); },
            });
            this.sock!.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
        });
    }

    /** query-status → e.g. { status: 'running' | 'paused' | 'guest-panicked' | 'shutdown' | …, running }. */
    queryStatus(): Promise<{ status: string; running: boolean }> {
        return this.execute('query-status');
    }

    get isClosed(): boolean {
        return this.closed;
    }

    private shutdown(err: Error): void {
        if (this.closed) return;
        this.closed = true;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.emit('close', err);
    }

    close(): void {
        this.sock?.destroy();
        this.shutdown(new QmpError(`QMP ${this.path}: closed`, 'EOF'));
    }
}
