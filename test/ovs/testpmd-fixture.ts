/**
 * dpdk-testpmd as the far end of OvS vhost-user ports: each port is a
 * net_virtio_user vdev that serves the socket (server=1), as QEMU would.
 * io forwarding with --tx-first keeps a burst circulating through OvS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';

export interface TestpmdPort { socket: string; queues: number }

export interface Testpmd {
    pid: number;
    output(): string;
    stop(): Promise<void>;
}

export function startTestpmd(ports: TestpmdPort[], filePrefix: string, logFile: string, rxq = 1): Testpmd {
    const vdevs = ports.flatMap((p, i) => ['--vdev', `net_virtio_user${i},path=${p.socket},server=1,queues=${p.queues}`]);
    const fd = openSync(logFile, 'w');
    const child: ChildProcess = spawn('dpdk-testpmd', [
        // Two lcores on one CPU: one main, one forwarding (-l 0 leaves none to forward).
        '--lcores', '0@0,1@0', '--no-pci', '--no-huge', '-m', '512', `--file-prefix=${filePrefix}`, '--no-telemetry', ...vdevs,
        '--', '--stats-period', '1', '--forward-mode=io', '--tx-first', '--nb-cores=1', `--rxq=${rxq}`, `--txq=${rxq}`,
        '--total-num-mbufs=8192',
    ], { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const pid = child.pid!;
    return {
        pid,
        output: () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } },
        stop: async () => {
            if (child.exitCode === null && child.signalCode === null) {
                const gone = new Promise((r) => child.once('exit', r));
                try { process.kill(-pid, 'SIGINT'); } catch { /* gone */ }
                const t = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
                await gone;
                clearTimeout(t);
            }
            rmSync(`/var/run/dpdk/${filePrefix}`, { recursive: true, force: true });
        },
    };
}
