/**
 * The datapath process under test, spawned the way the backend spawns it
 * (`vtopo datapath` through self-exec) in its own process group, driven
 * over its control socket and stopped by its group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { ControlArgs, ControlOp, ControlResult, DatapathStatusReport, PortReport } from '../../src/core/control.js';
import { controlRequest } from '../../src/datapath/control-client.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { until } from './wait.js';

export function killGroup(p: ChildProcess | undefined, sig: NodeJS.Signals = 'SIGKILL'): void {
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
        try { process.kill(-p.pid, sig); } catch { /* gone */ }
    }
}

export class DatapathProc {
    readonly ctl: string;
    readonly log: string;
    readonly pidfile: string;
    proc: ChildProcess | undefined;
    /** How it exited, once it has. */
    exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    /** The last 4000 characters it wrote to stderr (also passed through to ours). */
    stderr = '';

    constructor(readonly dir: string, private readonly env: Record<string, string> = {}) {
        this.ctl = path.join(dir, 'dp.sock');
        this.log = path.join(dir, 'dp.log');
        this.pidfile = path.join(dir, 'dp.pid');
    }

    async start(): Promise<void> {
        const [cmd, ...args] = selfExecArgv();
        this.exit = undefined;
        this.stderr = '';
        rmSync(this.ctl, { force: true });
        const p = spawn(cmd, [...args, 'datapath', '--control', this.ctl, '--pidfile', this.pidfile, '--log', this.log], {
            detached: true,
            stdio: ['ignore', 'inherit', 'pipe'],
            env: { ...process.env, ...this.env },
        });
        p.stderr!.on('data', (d) => {
            process.stderr.write(d);
            this.stderr = (this.stderr + d.toString()).slice(-4000);
        });
        p.on('exit', (code, signal) => (this.exit = { code, signal }));
        this.proc = p;
        await until('datapath control socket', () => {
            if (this.exit) throw new Error(`datapath exited at start: ${this.stderr}`);
            return existsSync(this.ctl) && existsSync(this.pidfile);
        }, 30_000);
    }

    get pid(): number {
        return this.proc?.pid ?? -1;
    }

    /** Alive = started and not exited; `exit` says how it died. */
    get alive(): boolean {
        return !!this.proc && this.exit === undefined;
    }

    req<Op extends ControlOp>(op: Op, args: ControlArgs[Op]): Promise<ControlResult[Op]> {
        return controlRequest(this.ctl, op, args);
    }

    status(): Promise<DatapathStatusReport> {
        return this.req('status', {});
    }

    async port(id: string): Promise<PortReport> {
        const p = (await this.status()).ports.find((x) => x.id === id);
        if (!p) throw new Error(`no port ${id}`);
        return p;
    }

    /** Open fds and the guest-memory mappings of a memfd name (leak checks). */
    resources(memfdName: string): { fds: number; mappings: number } {
        const fds = readdirSync(`/proc/${this.pid}/fd`).length;
        const mappings = readFileSync(`/proc/${this.pid}/maps`, 'utf8').split('\n').filter((l) => l.includes(`memfd:${memfdName}`)).length;
        return { fds, mappings };
    }

    logText(): string {
        try { return readFileSync(this.log, 'utf8'); } catch { return ''; }
    }

    logTail(n = 30): string {
        return this.logText().split('\n').slice(-n).join('\n');
    }

    async stop(): Promise<void> {
        const p = this.proc;
        if (!p) return;
        if (this.alive) {
            try { await controlRequest(this.ctl, 'shutdown', {}, 3000); } catch { /* gone */ }
            await until('datapath exit', () => this.exit !== undefined, 5000).catch(() => undefined);
        }
        killGroup(p);
        this.proc = undefined;
    }
}
