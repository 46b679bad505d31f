/**
 * Soak of the embedded datapath (a bench, not a test):
 *
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/soak/run.ts [--minutes 30] [--warmup 5] [--burst 16]
 *     [--reconnect-every 60] [--restart-every 120] [--probe-every 15]
 *
 * Deploys examples/two-vms.vtopo (two TCG guests on the embedded datapath)
 * through the CLI, then adds a bridge with two vhost-user ports to the same
 * datapath process for a dpdk-testpmd pair that keeps 2×burst frames
 * circulating through it (a steady load well below the switch's maximum,
 * which needs hundreds of frames in flight). Meanwhile:
 * - every --reconnect-every s the pair's frontend goes away and comes back:
 *   forwarding stops, the counters are read, the testpmd process is killed
 *   (SIGKILL, rings still holding frames) and a new one connects and
 *   re-injects. Per segment between two reconnects, frames testpmd sent that
 *   the switch never delivered back into a testpmd RX ring are losses outside
 *   a reconnect window; frames the switch delivered that the killed process
 *   never read are the window's own (they die with it) and are counted apart;
 * - every --restart-every s one guest (a, b, a, …) is restarted with
 *   `vtopo restart`: the time until its agent answers (its boot) and until
 *   it and its peer ping each other;
 * - every --probe-every s, while no guest restarts, each guest pings the
 *   other (`vtopo exec … ping`);
 * - every 30 s the datapath's PID, RSS, open fds and arena mappings.
 * Goals: RSS and fds at the end within 5 % of their value after warm-up, no
 * frame lost outside the reconnect windows, each restarted guest reachable
 * as soon as it has booted, 0 datapath restarts.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { controlRequest } from '../../src/datapath/control-client.js';
import type { DatapathStatusReport } from '../../src/core/control.js';
import { sleep, until } from '../../test/support/wait.js';
import { PAIR_MACS, SoakPair } from './pair.js';

const { values } = parseArgs({
    options: {
        minutes: { type: 'string', default: '30' }, warmup: { type: 'string', default: '5' }, burst: { type: 'string', default: '16' },
        'reconnect-every': { type: 'string', default: '60' }, 'restart-every': { type: 'string', default: '120' }, 'probe-every': { type: 'string', default: '15' },
    },
});
const MINUTES = Number(values.minutes);
const WARMUP_MS = Number(values.warmup) * 60_000;
const RECONNECT_MS = Number(values['reconnect-every']) * 1000;
const RESTART_MS = Number(values['restart-every']) * 1000;
const PROBE_MS = Number(values['probe-every']) * 1000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync('/tmp/vtopo-soak-');
const runRoot = path.join(dir, 'run');
const file = path.join(dir, 'two-vms.vtopo');
copyFileSync(path.join(root, 'examples', 'two-vms.vtopo'), file);
const control = path.join(runRoot, 'two_vms', 'embedded', 'control.sock');
const GUESTS = { a: '10.0.0.1', b: '10.0.0.2' } as const;
type Guest = keyof typeof GUESTS;
const peer = (g: Guest): Guest => (g === 'a' ? 'b' : 'a');

const t0 = performance.now();
const at = () => ((performance.now() - t0) / 1000).toFixed(0).padStart(5) + ' s';
const log = (s: string) => console.log(`${at()}  ${s}`);

function vtopo(...args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const c = spawn(process.execPath, [path.join(root, 'out', 'cli.cjs'), ...args], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot } });
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        c.stderr.on('data', (d) => { out += d; });
        c.on('close', (code) => resolve({ code: code ?? -1, out }));
    });
}
const dpStatus = () => controlRequest(control, 'status', {}) as Promise<DatapathStatusReport>;

interface Sample { t: number; pid: number; rssMiB: number; fds: number; mappings: number }
function sample(pid: number, mappings: number): Sample {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(st)?.[1] ?? 0) / 1024;
    return { t: (performance.now() - t0) / 1000, pid, rssMiB: rss, fds: readdirSync(`/proc/${pid}/fd`).length, mappings };
}

// --- the testpmd pair --------------------------------------------------------
const sockets: [string, string] = [path.join(dir, 'p0.sock'), path.join(dir, 'p1.sock')];
const PORTS = ['soak.p0', 'soak.p1'];
let pmd: SoakPair | undefined;
let generation = 0;
const segments: { lost: number; notTaken: number; inWindow: number; frames: number; seconds: number; windowMs: number }[] = [];
let segStart = { t: 0, switchRx: 0, switchTx: 0, drops: 0 };

async function switchCounts() {
    const ports = (await dpStatus()).ports.filter((p) => PORTS.includes(p.id));
    return { switchRx: ports.reduce((a, p) => a + p.rx_packets, 0), switchTx: ports.reduce((a, p) => a + p.tx_packets, 0), drops: ports.reduce((a, p) => a + p.drops, 0) };
}

async function connectPair(): Promise<void> {
    pmd = new SoakPair(sockets, Number(values.burst), `vtopo-soak-${process.pid}-${generation++}`);
    await pmd.start();
    await until('both pair ports connected', async () => (await dpStatus()).ports.filter((p) => PORTS.includes(p.id) && p.link === 'up' && p.vhost === 'connected').length === 2, 30_000);
    segStart = { t: performance.now(), ...(await switchCounts()) };
    await pmd.cmd('start tx_first');
}

/** Ends a segment: stop, count, kill (the disconnect), reconnect. */
async function reconnect(): Promise<void> {
    const w0 = performance.now();
    await pmd!.cmd('stop');
    await sleep(500); // the switch drains what it holds into testpmd's RX rings
    const [p0, p1] = await pmd!.counts();
    const sw = await switchCounts();
    const sent = p0.tx + p1.tx;
    const delivered = sw.switchTx - segStart.switchTx;
    const taken = sw.switchRx - segStart.switchRx;
    const seg = {
        lost: sent - delivered, notTaken: sent - taken, inWindow: delivered - (p0.rx + p1.rx), frames: p0.rx + p1.rx,
        seconds: (w0 - segStart.t) / 1000, windowMs: 0,
    };
    pmd!.kill();
    await connectPair();
    seg.windowMs = performance.now() - w0;
    segments.push(seg);
    log(`pair reconnect ${segments.length}: segment ${seg.seconds.toFixed(0)} s, ${(seg.frames / seg.seconds / 1e6).toFixed(2)} Mpps, ` +
        `lost ${seg.lost} (switch drops +${sw.drops - segStart.drops}), died with the frontend ${seg.inWindow}, window ${seg.windowMs.toFixed(0)} ms`);
}

// --- the guests ----------------------------------------------------------------
const restarts: { guest: Guest; bootS: number; reachS: number; ok: boolean; failedAttempts: number }[] = [];
const probes = { ok: 0, failed: 0, failures: [] as string[] };
let restarting = false;

async function ping(from: Guest, count = 1): Promise<boolean> {
    const r = await vtopo('exec', file, from, '--', 'ping', '-c', String(count), '-i', '0.2', '-W', '2', GUESTS[peer(from)]);
    return r.code === 0;
}

async function restartGuest(g: Guest): Promise<void> {
    restarting = true;
    try {
        const s = performance.now();
        const r = await vtopo('restart', file, g);
        const bootS = (performance.now() - s) / 1000;
        let reachS = NaN;
        let failedAttempts = 0;
        let ok = r.code === 0;
        if (ok) {
            // Each probe is a `vtopo exec` (a CLI start and an agent round trip): the attempts
            // that failed say whether the guest was unreachable after its boot, not the probe's own time.
            const deadline = performance.now() + 120_000;
            while (performance.now() < deadline && !(await ping(g) && await ping(peer(g)))) { failedAttempts++; await sleep(200); }
            ok = performance.now() < deadline;
            reachS = (performance.now() - s) / 1000;
        }
        restarts.push({ guest: g, bootS, reachS, ok, failedAttempts });
        log(`restart ${g}: ${ok ? `agent up after ${bootS.toFixed(1)} s, both ways reachable after ${reachS.toFixed(1)} s (${failedAttempts} failed probe rounds first)` : `FAILED: ${r.out.slice(-400)}`}`);
    } finally {
        restarting = false;
    }
}

async function probe(): Promise<void> {
    if (restarting) return;
    for (const g of ['a', 'b'] as Guest[]) {
        if (restarting) return;
        const ok = await ping(g, 3);
        if (restarting) return; // a restart began meanwhile: not counted
        if (ok) probes.ok++;
        else { probes.failed++; probes.failures.push(`${at()} ${g}→${peer(g)}`); log(`probe ${g} → ${peer(g)} FAILED`); }
    }
}

// --- the run --------------------------------------------------------------------
async function every(ms: number, offsetMs: number, endAt: number, fn: () => Promise<void>): Promise<void> {
    for (let next = performance.now() + offsetMs; next < endAt; next += ms) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() >= endAt) break;
        await fn();
    }
}

async function main(): Promise<void> {
    log(`deploying ${file} (run root ${runRoot})`);
    const d = await vtopo('deploy', file);
    if (d.code !== 0) throw new Error(`deploy failed:\n${d.out}`);
    if (!(await ping('a') && await ping('b'))) throw new Error('the guests do not reach each other after deploy');
    await controlRequest(control, 'add-bridge', { name: 'soak', mtu: 1500 });
    for (let i = 0; i < 2; i++) await controlRequest(control, 'add-vhost-port', { port: PORTS[i], bridge: 'soak', socket: sockets[i], mode: 'server', queues: 1, mac: PAIR_MACS[i] });
    await connectPair();
    const first = await dpStatus();
    const dpPid = first.pid;
    log(`datapath pid ${dpPid}; pair circulating ${2 * Number(values.burst)} frames; soak of ${MINUTES} min begins`);

    const samples: Sample[] = [sample(dpPid, first.memory_arena?.mappings ?? 0)];
    const pids = new Set([dpPid]);
    let baseline: Sample | undefined;
    const soakStart = performance.now();
    const endAt = soakStart + MINUTES * 60_000;
    await Promise.all([
        every(RECONNECT_MS, RECONNECT_MS, endAt, reconnect),
        every(RESTART_MS, RESTART_MS * 0.75, endAt, async () => restartGuest(restarts.length % 2 === 0 ? 'a' : 'b')),
        every(PROBE_MS, PROBE_MS, endAt, probe),
        every(30_000, 30_000, endAt, async () => {
            const st = await dpStatus();
            pids.add(st.pid);
            const s = sample(st.pid, st.memory_arena?.mappings ?? 0);
            samples.push(s);
            log(`sample: datapath RSS ${s.rssMiB.toFixed(1)} MiB, ${s.fds} fds, ${s.mappings} arena mappings`);
            if (!baseline && performance.now() - soakStart >= WARMUP_MS) { baseline = s; log(`after warm-up: RSS ${s.rssMiB.toFixed(1)} MiB, ${s.fds} fds, ${s.mappings} arena mappings`); }
        }),
    ]);
    await reconnect(); // close the last segment
    const st = await dpStatus();
    pids.add(st.pid);
    const end = sample(st.pid, st.memory_arena?.mappings ?? 0);
    samples.push(end);

    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(1)} %`;
    console.log(`\nsoak: ${((performance.now() - soakStart) / 60_000).toFixed(1)} min on the embedded datapath after setup`);
    console.log(`datapath restarts: ${pids.size - 1} (pids ${[...pids].join(', ')}); uptime ${st.uptime_s.toFixed(0)} s`);
    if (baseline) {
        console.log(`datapath RSS ${baseline.rssMiB.toFixed(1)} → ${end.rssMiB.toFixed(1)} MiB (${pct(end.rssMiB, baseline.rssMiB)}), ` +
            `fds ${baseline.fds} → ${end.fds} (${pct(end.fds, baseline.fds)}), arena mappings ${baseline.mappings} → ${end.mappings}; ` +
            `RSS range over the samples ${Math.min(...samples.map((s) => s.rssMiB)).toFixed(1)}–${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)} MiB`);
        // One sample lands anywhere in the V8 heap's grow-and-collect cycle (±20 MiB here): the floor over
        // five minutes (what the heap comes back to after its GCs) is the figure that would show a leak.
        const floor = (from: number, to: number) => Math.min(...samples.filter((s) => s.t >= from && s.t < to).map((s) => s.rssMiB));
        const b0 = baseline.t;
        const e0 = end.t - 300;
        console.log(`datapath RSS floor: the 5 min after warm-up ${floor(b0, b0 + 300).toFixed(1)} MiB, the last 5 min ${floor(e0, end.t + 1).toFixed(1)} MiB ` +
            `(${pct(floor(e0, end.t + 1), floor(b0, b0 + 300))})`);
    }
    const frames = sum(segments.map((s) => s.frames));
    console.log(`testpmd pair: ${segments.length} segments (reconnect windows), ${(frames / 1e9).toFixed(2)} G frames received, ` +
        `lost outside the windows ${sum(segments.map((s) => s.lost))} (never taken by the switch ${sum(segments.map((s) => s.notTaken))}), ` +
        `died with the frontend in the windows ${sum(segments.map((s) => s.inWindow))}; window ${Math.min(...segments.map((s) => s.windowMs)).toFixed(0)}–${Math.max(...segments.map((s) => s.windowMs)).toFixed(0)} ms`);
    console.log(`guest restarts: ${restarts.length}, ${restarts.filter((r) => r.ok).length} reachable again; agent up ${Math.min(...restarts.map((r) => r.bootS)).toFixed(1)}–${Math.max(...restarts.map((r) => r.bootS)).toFixed(1)} s, ` +
        `reachable both ways ${Math.min(...restarts.map((r) => r.reachS)).toFixed(1)}–${Math.max(...restarts.map((r) => r.reachS)).toFixed(1)} s after the restart began; ` +
        `restarts whose first probe round after boot failed: ${restarts.filter((r) => r.failedAttempts > 0).length}`);
    console.log(`ping probes between the guests outside restarts: ${probes.ok} ok, ${probes.failed} failed${probes.failures.length ? ` (${probes.failures.join(', ')})` : ''}`);
}

let cleaned = false;
async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    pmd?.kill();
    await controlRequest(control, 'remove-bridge', { name: 'soak' }).catch(() => undefined);
    const r = await vtopo('destroy', file);
    if (r.code !== 0) console.error(`destroy: ${r.out}`);
    rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)); });

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
}).finally(cleanup);
