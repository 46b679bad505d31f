/**
 * Real peers for datapath tests: the datapath process itself (spawned the
 * way the backend does) and dpdk-testpmd as a virtio-user frontend, driven
 * through its interactive prompt.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { controlRequest } from '../../src/datapath/control-client.js';
import type { ControlArgs, ControlOp, ControlResult, DatapathStatusReport, PortReport } from '../../src/core/control.js';
import { selfExecArgv } from '../../src/host/self-exec.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, stepMs = 100): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await f();
            if (v) return v as T;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
        await sleep(stepMs);
    }
}

export function tempDir(tag: string): string {
    return mkdtempSync(path.join(tmpdir(), `vtopo-${tag}-`));
}

function killGroup(p: ChildProcess | undefined, sig: NodeJS.Signals = 'SIGKILL'): void {
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
        try { process.kill(-p.pid, sig); } catch { /* gone */ }
    }
}

export class DatapathProc {
    readonly ctl: string;
    readonly log: string;
    readonly pidfile: string;
    proc: ChildProcess | undefined;

    constructor(readonly dir: string, private readonly env: Record<string, string> = {}) {
        this.ctl = path.join(dir, 'dp.sock');
        this.log = path.join(dir, 'dp.log');
        this.pidfile = path.join(dir, 'dp.pid');
    }

    async start(): Promise<void> {
        const [cmd, ...args] = selfExecArgv();
        this.proc = spawn(cmd, [...args, 'datapath', '--control', this.ctl, '--pidfile', this.pidfile, '--log', this.log], {
            detached: true,
            stdio: ['ignore', 'inherit', 'inherit'],
            env: { ...process.env, ...this.env },
        });
        await until('datapath control socket', () => existsSync(this.ctl) && existsSync(this.pidfile), 20_000);
    }

    req<Op extends ControlOp>(op: Op, args: ControlArgs[Op]): Promise<ControlResult[Op]> {
        return controlRequest(this.ctl, op, args);
    }

    status(): Promise<DatapathStatusReport> {
        return this.req('status', {});
    }

    async port(id: string): Promise<PortReport> {
        const s = await this.status();
        const p = s.ports.find((x) => x.id === id);
        if (!p) throw new Error(`no port ${id}`);
        return p;
    }

    logText(): string {
        try { return readFileSync(this.log, 'utf8'); } catch { return ''; }
    }

    async stop(): Promise<void> {
        if (!this.proc) return;
        try { await this.req('shutdown', {}); } catch { /* already gone */ }
        const p = this.proc;
        await until('datapath exit', () => p.exitCode !== null || p.signalCode !== null, 5000).catch(() => killGroup(p));
        killGroup(p);
        this.proc = undefined;
    }
}

export interface TestpmdOptions {
    socket: string;
    /** true: testpmd listens (server=1) and the switch connects. */
    server?: boolean;
    queues?: number;
    mac: string;
    peer?: string;
    prefix: string;
    extra?: string[];
}

let prefixSeq = 0;
export const uniquePrefix = (tag: string) => `vtopo-${tag}-${process.pid}-${prefixSeq++}`;

export class Testpmd {
    proc: ChildProcess | undefined;
    private out = '';
    private consumed = 0;

    constructor(readonly o: TestpmdOptions) {}

    /** Spawns testpmd; resolves at the first prompt (with server=1 only once the switch connected). */
    async start(timeoutMs = 30_000): Promise<void> {
        const q = this.o.queues ?? 1;
        const vdev = `net_virtio_user0,path=${this.o.socket},queues=${q},mac=${this.o.mac}${q > 1 ? ',cq=1' : ''}${this.o.server ? ',server=1' : ''}`;
        const args = [
            '-oL', 'dpdk-testpmd', '--no-pci', '--no-huge', '-m', '256', `--file-prefix=${this.o.prefix}`, '--lcores', '0@0,1@0', '--no-telemetry',
            '--vdev', vdev, '--', '-i', '--total-num-mbufs=4096', `--rxq=${q}`, `--txq=${q}`, '--port-topology=loop',
            ...(this.o.peer ? [`--eth-peer=0,${this.o.peer}`] : []),
            ...(this.o.extra ?? []),
        ];
        // A socket left by an earlier (killed) listener makes bind fail.
        if (this.o.server) rmSync(this.o.socket, { force: true });
        this.out = '';
        this.consumed = 0;
        this.proc = spawn('stdbuf', args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        this.proc.stdout!.on('data', (d) => (this.out += d.toString()));
        this.proc.stderr!.on('data', (d) => (this.out += d.toString()));
        this.proc.stdin!.on('error', () => {});
        await until(`testpmd prompt (${this.o.socket})`, () => {
            if (this.proc?.exitCode !== null) throw new Error(`testpmd exited: ${this.out.slice(-2000)}`);
            return this.out.includes('testpmd> ');
        }, timeoutMs);
        this.consumed = this.out.lastIndexOf('testpmd> ') + 9;
    }

    /** Runs one prompt command and returns its output. */
    async cmd(line: string, timeoutMs = 15_000): Promise<string> {
        const from = this.consumed;
        this.proc!.stdin!.write(line + '\n');
        await until(`testpmd '${line}'`, () => this.out.indexOf('testpmd> ', from) >= 0, timeoutMs, 20);
        const at = this.out.indexOf('testpmd> ', from);
        this.consumed = at + 9;
        return this.out.slice(from, at);
    }

    async stats(): Promise<{ rx: number; tx: number }> {
        const s = await this.cmd('show port stats 0');
        const rx = /RX-packets:\s+(\d+)/.exec(s);
        const tx = /TX-packets:\s+(\d+)/.exec(s);
        if (!rx || !tx) throw new Error(`cannot parse testpmd stats: ${s}`);
        return { rx: Number(rx[1]), tx: Number(tx[1]) };
    }

    output(): string {
        return this.out;
    }

    kill(): void {
        killGroup(this.proc);
        this.proc = undefined;
        try { rmSync(`/var/run/dpdk/${this.o.prefix}`, { recursive: true, force: true }); } catch { /* none */ }
    }

    async quit(): Promise<void> {
        if (!this.proc) return;
        const p = this.proc;
        try { p.stdin!.write('quit\n'); } catch { /* closed */ }
        await until('testpmd exit', () => p.exitCode !== null || p.signalCode !== null, 8000).catch(() => undefined);
        this.kill();
    }
}
