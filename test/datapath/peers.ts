/**
 * dpdk-testpmd as a virtio-user frontend for datapath tests, driven
 * through its interactive prompt. The datapath process itself is
 * test/support/datapath-proc.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { killGroup } from '../support/datapath-proc.js';
import { until } from '../support/wait.js';

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
