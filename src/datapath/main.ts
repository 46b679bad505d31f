/**
 * `vtopo datapath --control SOCK --pidfile FILE --log FILE [--poll-cores LIST]`:
 * runs the switch in the foreground. The control socket (mode 0600) takes
 * JSON lines `{id, op, ...}` and answers `{id, ok, result|error}`.
 */
import { appendFileSync, chmodSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import type { ControlResult } from '../core/control.js';
import { Datapath, OpError } from './datapath.js';
import { setAffinity } from './sys/netdev.js';

export interface DatapathArgs {
    control: string;
    pidfile?: string;
    log?: string;
    pollCores?: number[];
}

export function parseCoreList(s: string): number[] {
    const out: number[] = [];
    for (const part of s.split(',')) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
        if (!m) throw new Error(`bad core list '${s}' (use N, N-M or a comma list)`);
        const a = Number(m[1]);
        const b = m[2] === undefined ? a : Number(m[2]);
        for (let c = a; c <= b; c++) out.push(c);
    }
    return out;
}

export function parseDatapathArgs(argv: string[]): DatapathArgs {
    const a: Partial<DatapathArgs> = {};
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        const v = argv[i + 1];
        if (k === '--control') a.control = v;
        else if (k === '--pidfile') a.pidfile = v;
        else if (k === '--log') a.log = v;
        else if (k === '--poll-cores') a.pollCores = v ? parseCoreList(v) : [];
        else throw new Error(`unknown option '${k}'`);
        i++;
    }
    if (!a.control) throw new Error('--control SOCK is required');
    return a as DatapathArgs;
}

/** Runs until `shutdown` or SIGTERM/SIGINT; resolves with the exit code. */
export function runDatapath(args: DatapathArgs): Promise<number> {
    const log = (m: string) => {
        const line = `${new Date().toISOString()} ${m}\n`;
        if (args.log) {
            try {
                appendFileSync(args.log, line);
                return;
            } catch { /* fall through to stderr */ }
        }
        process.stderr.write(line);
    };
    if (args.pollCores && args.pollCores.length) {
        try {
            setAffinity(args.pollCores);
        } catch (e) {
            log(`poll-cores ${args.pollCores.join(',')}: ${(e as Error).message} (running unpinned)`);
        }
    }
    const idle = process.env.VTOPO_DP_IDLE_US ? Number(process.env.VTOPO_DP_IDLE_US) / 1000 : undefined;
    const dp = new Datapath(log, idle);
    return new Promise((resolve) => {
        let stopping = false;
        const server = net.createServer((conn) => {
            let buf = '';
            // A decoder, not toString per chunk: a character split between chunks must not turn into U+FFFD.
            conn.setEncoding('utf8');
            conn.on('data', (d: string) => {
                buf += d;
                let nl: number;
                while ((nl = buf.indexOf('\n')) >= 0) {
                    const line = buf.slice(0, nl);
                    buf = buf.slice(nl + 1);
                    if (line.trim()) void handle(conn, line);
                }
            });
            conn.on('error', () => {});
        });
        const handle = async (conn: net.Socket, line: string) => {
            let id: unknown = null;
            try {
                const req: unknown = JSON.parse(line);
                if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new OpError('a request is a JSON object {id, op, ...args}');
                const wire = req as { readonly [k: string]: unknown };
                id = wire.id ?? null;
                if (wire.op === 'shutdown') {
                    const result: ControlResult['shutdown'] = {};
                    conn.end(JSON.stringify({ id, ok: true, result }) + '\n');
                    stop('shutdown requested');
                    return;
                }
                const result = await dp.serve(wire);
                conn.write(JSON.stringify({ id, ok: true, result }) + '\n');
            } catch (e) {
                const err = e as Error;
                if (!(e instanceof OpError)) log(`op failed: ${err.stack ?? err.message}`);
                conn.write(JSON.stringify({ id, ok: false, error: { message: err.message, fix: (e as OpError).fix } }) + '\n');
            }
        };
        const stop = (why: string) => {
            if (stopping) return;
            stopping = true;
            log(`stopping: ${why}`);
            server.close();
            dp.close();
            try { unlinkSync(args.control); } catch { /* gone */ }
            if (args.pidfile) try { unlinkSync(args.pidfile); } catch { /* gone */ }
            resolve(0);
            // Kick watches and timers are closed; nothing should keep the loop alive.
            setTimeout(() => process.exit(0), 200).unref();
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        try { unlinkSync(args.control); } catch { /* absent */ }
        const old = process.umask(0o077);
        server.listen(args.control, () => {
            process.umask(old);
            chmodSync(args.control, 0o600);
            if (args.pidfile) {
                const tmp = `${args.pidfile}.${process.pid}.tmp`;
                writeFileSync(tmp, `${process.pid}\n`);
                renameSync(tmp, args.pidfile);
            }
            log(`datapath ${process.pid} listening on ${args.control}`);
        });
        server.on('error', (e) => {
            process.umask(old);
            log(`control socket ${args.control}: ${e.message}`);
            resolve(1);
        });
    });
}
