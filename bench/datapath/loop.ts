/**
 * Datapath throughput in the loop layout (not a test; prints figures):
 * one dpdk-testpmd with two virtio-user ports (server=1) in mac forwarding
 * (each frame leaves with the sending port's source MAC and the other
 * port's as destination, so the switch forwards known unicast), chained,
 * on cpu0; the embedded switch forwarding between its two
 * vhost-user ports (client mode) on cpu1. A few bursts are injected with
 * `start tx_first` and then circulate. Reports the switch's forwarded
 * packets per second (both directions) as 1-second medians, and its CPU.
 *
 *   npx tsx bench/datapath/loop.ts [--seconds 10] [--sizes 64,1518] [--queues 1,2] [--bursts 16] [--in-order 1|0] [--gen-memory nohuge|huge]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { controlRequest } from '../../src/datapath/control-client.js';
import { sleep, until } from '../../test/support/wait.js';
import type { ControlArgs, ControlOp, DatapathStatusReport } from '../../src/core/control.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { releaseHugepages, reserveHugepages } from '../../src/host/hugepages.js';
import type { HugepageReservation } from '../../src/host/state.js';
import { onInterrupt } from '../interrupt.js';

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
};
const SECONDS = Number(opt('seconds', '10'));
const SIZES = opt('sizes', '64,1518').split(',').map(Number);
const QUEUES = opt('queues', '1,2').split(',').map(Number);
const BURSTS = Number(opt('bursts', '16'));
/** virtio_user's in_order devarg (DPDK default 1): whether the generator asks for VIRTIO_F_IN_ORDER, which picks its rx/tx paths. */
const IN_ORDER = opt('in-order', '1');
/** testpmd's memory, which the switch copies from and into: 4 KiB pages (default) or 2 MiB hugepages. */
const GEN_MEMORY = opt('gen-memory', 'nohuge');
const GEN_HUGE_PAGES = 300; // 2M pages: testpmd -m 512 plus slack
const CLK_TCK = 100;

function cpuTicks(pid: number): number {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
}

const waitFor = (what: string, f: () => boolean | Promise<boolean>, ms = 30_000) => until(what, f, ms, 100);

async function run(size: number, queues: number): Promise<void> {
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-bench-'));
    const ctl = path.join(dir, 'dp.sock');
    const [cmd, ...pre] = selfExecArgv();
    // --prof DIR: V8 CPU profile of the switch process, for finding hot spots.
    if (opt('prof', '')) pre.unshift('--cpu-prof', `--cpu-prof-dir=${opt('prof', '')}`);
    const dp = spawn(cmd, [...pre, 'datapath', '--control', ctl, '--pidfile', path.join(dir, 'dp.pid'), '--log', path.join(dir, 'dp.log'), '--poll-cores', '1'], { detached: true, stdio: 'inherit' });
    let pmd: ChildProcess | undefined;
    const prefix = `vtopo-bench-${process.pid}`;
    let huge: HugepageReservation | undefined;
    const cleanup = () => {
        for (const p of [pmd, dp]) if (p?.pid) try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
        if (huge) releaseHugepages(huge);
        rmSync(dir, { recursive: true, force: true });
        rmSync(`/var/run/dpdk/${prefix}`, { recursive: true, force: true });
    };
    const registered = onInterrupt(cleanup);
    try {
        if (GEN_MEMORY === 'huge') huge = reserveHugepages({ pageSizeBytes: 2 << 20, count: GEN_HUGE_PAGES, mountDir: path.join(dir, 'huge') }, () => {});
        // One file for all of its memory: vhost-user passes at most 8 regions.
        const mem = huge ? ['--huge-dir', huge.mountDir, '--single-file-segments'] : ['--no-huge'];
        await waitFor('datapath', () => existsSync(ctl));
        const req = <Op extends ControlOp>(op: Op, a: ControlArgs[Op]) => controlRequest(ctl, op, a);
        await req('add-bridge', { name: 'br0', mtu: 9000 });
        const socks = [path.join(dir, 'p0.sock'), path.join(dir, 'p1.sock')];
        const q = `${queues > 1 ? `,queues=${queues},cq=1` : ''},in_order=${IN_ORDER}`;
        pmd = spawn('taskset', ['-c', '0', 'stdbuf', '-oL', 'dpdk-testpmd', '--no-pci', ...mem, '-m', '512', `--file-prefix=${prefix}`, '--lcores', '0@0,1@0', '--no-telemetry',
            '--vdev', `net_virtio_user0,path=${socks[0]},server=1,mac=52:54:00:00:b0:01${q}`,
            '--vdev', `net_virtio_user1,path=${socks[1]},server=1,mac=52:54:00:00:b0:02${q}`,
            '--', '-i', '--total-num-mbufs=16384', `--rxq=${queues}`, `--txq=${queues}`, '--port-topology=chained', '--nb-cores=1', '--forward-mode=mac', '--eth-peer=0,52:54:00:00:b0:02', '--eth-peer=1,52:54:00:00:b0:01'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        pmd.stdout!.on('data', (d) => (out += d));
        pmd.stderr!.on('data', (d) => (out += d));
        // server=1 probes one port at a time, each blocking until we connect: add both now (we retry).
        for (let i = 0; i < 2; i++) await req('add-vhost-port', { port: `p${i}`, bridge: 'br0', socket: socks[i], mode: 'client', queues });
        await waitFor('testpmd prompt', () => out.includes('testpmd> '));
        await waitFor('links', async () => (await req('status', {})).ports.every((p) => p.link === 'up' && (p.num_of_vrings ?? 0) >= 2 * queues));
        const feats = (await req('status', {})).ports[0].features ?? [];
        console.log(`negotiated: ${feats.join(' ')}`);
        pmd.stdin!.write(`set txpkts ${size}\nstart tx_first ${BURSTS}\n`);
        await sleep(2000);
        const dpPid = dp.pid!;
        const rates: number[] = [];
        const cpus: number[] = [];
        const sum = (r: DatapathStatusReport) => r.ports.reduce((n, p) => n + p.rx_packets, 0);
        let prev = await req('status', {});
        const first = prev;
        let prevT = performance.now();
        let prevCpu = cpuTicks(dpPid);
        for (let s = 0; s < SECONDS; s++) {
            await sleep(1000);
            const st = await req('status', {});
            const t = performance.now();
            const c = cpuTicks(dpPid);
            rates.push((sum(st) - sum(prev)) / ((t - prevT) / 1000));
            cpus.push((c - prevCpu) / CLK_TCK / ((t - prevT) / 1000));
            prev = st;
            prevT = t;
            prevCpu = c;
        }
        const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
        const mpps = med(rates) / 1e6;
        const cpu = med(cpus);
        const drops = prev.ports.reduce((n, p) => n + p.drops, 0);
        // Notifications in either direction would mean a side left polling mode (each costs a syscall and a wake-up).
        const qs = prev.ports.flatMap((p) => p.queues);
        console.log(`notifications: ${qs.reduce((n, q) => n + q.kicks, 0)} kicks, ${qs.reduce((n, q) => n + q.calls, 0)} calls; queue modes ${qs.map((q) => q.mode).join(',')}`);
        console.log(
            `size ${String(size).padStart(4)} B  queues ${queues}:  ${mpps.toFixed(3)} Mpps (median of ${SECONDS} 1-s samples, min ${(Math.min(...rates) / 1e6).toFixed(3)}, max ${(Math.max(...rates) / 1e6).toFixed(3)})  ` +
                `switch CPU ${(cpu * 100).toFixed(0)}%  → ${mpps > 0 ? (cpu / mpps).toFixed(2) : '∞'} CPU per Mpps  drops ${drops}  ${((mpps * 1e6 * size * 8) / 1e9).toFixed(2)} Gbit/s`,
        );
        // Frames per polling round (both directions): near 2 × 64 when the switch finds full batches, small when it waits for testpmd.
        console.log(`  frames per polling round ${((sum(prev) - sum(first)) / Math.max(1, prev.rounds - first.rounds)).toFixed(1)}`);
        // Per queue: where the frames went, and how many waited in the backlog (the guest's RX ring was full).
        for (const p of prev.ports) console.log(`  ${p.id}: ${p.queues.map((q) => `q${q.queue} rx ${q.rx_packets} tx ${q.tx_packets} backlogged ${q.backlogged ?? 0} ${q.mode}`).join(', ')}`);
        pmd.stdin!.write('stop\nquit\n');
        await sleep(500);
        await req('shutdown', {}).catch(() => undefined);
        await waitFor('datapath exit', () => dp.exitCode !== null || dp.signalCode !== null, 10_000).catch(() => undefined);
    } finally {
        registered();
        cleanup();
    }
}

for (const q of QUEUES) for (const s of SIZES) await run(s, q);
