/** dpdk-testpmd as a real vhost-user peer for guest tests (interactive: no busy-polling forwarder starves TCG). */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface Testpmd {
    proc: ChildProcess;
    output(): string;
    /** A line for testpmd's interactive prompt, e.g. `start`. */
    command(line: string): void;
    stop(): Promise<void>;
}

export interface VhostPort {
    socket: string;
    /** testpmd connects (QEMU is the server) */
    client: boolean;
}

/**
 * One net_vhost vdev per port; with two ports `start` io-forwards between
 * them (paired), which makes testpmd a two-port wire between guests.
 */
export function startTestpmd(opts: { socket?: string; client?: boolean; ports?: VhostPort[]; queues: number; prefix: string }): Testpmd {
    const ports = opts.ports ?? [{ socket: opts.socket!, client: opts.client ?? true }];
    const vdevs = ports.flatMap((p, i) => ['--vdev', `net_vhost${i},iface=${p.socket},queues=${opts.queues}${p.client ? ',client=1' : ''}`]);
    const proc = spawn('dpdk-testpmd', [
        '--no-pci', '--no-huge', '-m', '256', `--file-prefix=${opts.prefix}`, '--no-telemetry', '--lcores', '0@0,1@0',
        ...vdevs, '--', '-i', `--rxq=${opts.queues}`, `--txq=${opts.queues}`, '--total-num-mbufs=8192',
        '--forward-mode=io', '--port-topology=paired',
    ], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<void>((r) => proc.on('exit', () => r()));
    return {
        proc,
        output: () => out,
        command: (line: string) => { proc.stdin!.write(line + '\n'); },
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
