/** dpdk-testpmd as a real vhost-user peer for guest tests (interactive: no busy-polling forwarder starves TCG). */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface Testpmd {
    proc: ChildProcess;
    output(): string;
    stop(): Promise<void>;
}

export function startTestpmd(opts: { socket: string; queues: number; client: boolean; prefix: string }): Testpmd {
    const vdev = `net_vhost0,iface=${opts.socket},queues=${opts.queues}${opts.client ? ',client=1' : ''}`;
    const proc = spawn('dpdk-testpmd', [
        '--no-pci', '--no-huge', '-m', '256', `--file-prefix=${opts.prefix}`, '--no-telemetry', '--lcores', '0@0,1@0',
        '--vdev', vdev, '--', '-i', `--rxq=${opts.queues}`, `--txq=${opts.queues}`, '--total-num-mbufs=8192',
    ], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<void>((r) => proc.on('exit', () => r()));
    return {
        proc,
        output: () => out,
        async stop() {
            if (proc.exitCode === null && proc.signalCode === null) {
                proc.stdin!.write('quit\n');
                const t = setTimeout(() => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
                await exited;
                clearTimeout(t);
            }
            rmSync(`/var/run/dpdk/${opts.prefix}`, { recursive: true, force: true });
        },
    };
}
