/**
 * The live proof a vhost-user fuzz run needs that other ports keep working:
 * one dpdk-testpmd with two virtio-user ports forwarding into each other
 * through the switch, in its own process group and stopped by it. The
 * datapath process itself is test/support/datapath-proc.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { killGroup } from '../support/datapath-proc.js';
import { until } from '../support/wait.js';

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
