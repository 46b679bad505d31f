/**
 * The real processes a vhost-user fuzz run needs: the embedded datapath
 * (spawned the way the backend spawns it) and one dpdk-testpmd with two
 * virtio-user ports forwarding into each other through the switch, the
 * live proof that other ports keep working. Both run in their own process
 * group and are stopped by it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { controlRequest } from '../../src/datapath/control-client.js';
import type { ControlArgs, ControlOp, ControlResult, DatapathStatusReport } from '../../src/core/control.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { sleep } from './vhost-frontend.js';

export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, stepMs = 50): Promise<T> {
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

function killGroup(p: ChildProcess | undefined): void {
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
        try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
}

export class DatapathUnderTest {
    readonly ctl: string;
    readonly log: string;
    proc: ChildProcess | undefined;
    exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

    constructor(readonly dir: string) {
        this.ctl = path.join(dir, 'dp.sock');
        this.log = path.join(dir, 'dp.log');
    }

    async start(): Promise<void> {
        const [cmd, ...args] = selfExecArgv();
        this.exit = undefined;
        rmSync(this.ctl, { force: true });
        const p = spawn(cmd, [...args, 'datapath', '--control', this.ctl, '--pidfile', path.join(this.dir, 'dp.pid'), '--log', this.log], {
            detached: true, stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        p.stderr!.on('data', (d) => { stderr = (stderr + d.toString()).slice(-4000); });
        p.on('exit', (code, signal) => { this.exit = { code, signal }; this.stderr = stderr; });
        this.proc = p;
        await until('datapath control socket', () => {
            if (this.exit) throw new Error(`datapath exited at start: ${stderr}`);
            return existsSync(this.ctl);
        }, 30_000);
    }

    stderr = '';

    get pid(): number {
        return this.proc?.pid ?? -1;
    }

    /** Alive = not exited; `exit` says how it died. */
    get alive(): boolean {
        return !!this.proc && this.exit === undefined;
    }

    req<Op extends ControlOp>(op: Op, args: ControlArgs[Op]): Promise<ControlResult[Op]> {
        return controlRequest(this.ctl, op, args);
    }

    status(): Promise<DatapathStatusReport> {
        return this.req('status', {});
    }

    /** Open fds and the guest-memory mappings of a memfd name (leak checks). */
    resources(memfdName: string): { fds: number; mappings: number } {
        const fds = readdirSync(`/proc/${this.pid}/fd`).length;
        const mappings = readFileSync(`/proc/${this.pid}/maps`, 'utf8').split('\n').filter((l) => l.includes(`memfd:${memfdName}`)).length;
        return { fds, mappings };
    }

    logTail(n = 30): string {
        try { return readFileSync(this.log, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
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

export interface PairOptions { sockets: [string, string]; macs: [string, string]; prefix: string }

/**
 * One testpmd, two virtio-user ports, io forwarding chained port 0 ↔ port 1:
 * every frame the switch delivers to one port goes back out of the other.
 * `start tx_first` injects a burst per port; they then circulate for good.
 */
export class TestpmdPair {
    proc: ChildProcess | undefined;
    private out = '';
    private consumed = 0;

    constructor(readonly o: PairOptions) {}

    async start(timeoutMs = 60_000): Promise<void> {
        const vdev = (i: number) => `net_virtio_user${i},path=${this.o.sockets[i]},queues=1,mac=${this.o.macs[i]}`;
        const args = [
            '-oL', 'dpdk-testpmd', '--no-pci', '--no-huge', '-m', '256', `--file-prefix=${this.o.prefix}`, '--lcores', '0@0,1@0', '--no-telemetry',
            '--vdev', vdev(0), '--vdev', vdev(1), '--', '-i', '--total-num-mbufs=8192', '--port-topology=chained', '--forward-mode=io',
            `--eth-peer=0,${this.o.macs[1]}`, `--eth-peer=1,${this.o.macs[0]}`,
        ];
        this.proc = spawn('stdbuf', args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        this.proc.stdout!.on('data', (d) => { this.out += d.toString(); });
        this.proc.stderr!.on('data', (d) => { this.out += d.toString(); });
        this.proc.stdin!.on('error', () => {});
        await until('testpmd prompt', () => {
            if (this.proc?.exitCode !== null) throw new Error(`testpmd exited: ${this.out.slice(-2000)}`);
            return this.out.includes('testpmd> ');
        }, timeoutMs);
        this.consumed = this.out.lastIndexOf('testpmd> ') + 9;
    }

    async cmd(line: string, timeoutMs = 15_000): Promise<string> {
        const from = this.consumed;
        this.proc!.stdin!.write(line + '\n');
        await until(`testpmd '${line}'`, () => this.out.indexOf('testpmd> ', from) >= 0, timeoutMs, 10);
        const at = this.out.indexOf('testpmd> ', from);
        this.consumed = at + 9;
        if (this.out.length > 1 << 20) {
            this.out = this.out.slice(this.consumed);
            this.consumed = 0;
        }
        return this.out.slice(from, at);
    }

    /** RX packets per port. */
    async rx(): Promise<[number, number]> {
        const s = await this.cmd('show port stats all');
        const m = [...s.matchAll(/RX-packets:\s+(\d+)/g)].map((x) => Number(x[1]));
        if (m.length < 2) throw new Error(`cannot parse testpmd stats: ${s}`);
        return [m[0], m[1]];
    }

    stop(): void {
        killGroup(this.proc);
        this.proc = undefined;
        try { rmSync(`/var/run/dpdk/${this.o.prefix}`, { recursive: true, force: true }); } catch { /* none */ }
    }
}
