/**
 * The embedded datapath against a private OvS-DPDK 3.1, side by side (not a
 * test; prints figures). Both switches are driven through the project's own
 * backends (src/backends/embedded, src/backends/ovs) from a hand-built Plan,
 * and measured in the same loop layout with the same generator:
 *
 *   dpdk-testpmd on cpu0: two net_virtio_user ports (server=1), mac
 *   forwarding, chained, a few bursts injected with `start tx_first` that
 *   then circulate; the switch on cpu1 (embedded: --poll-cores 1; OvS: one
 *   PMD, mask 0x2) forwards port 0 ↔ port 1 as known unicast. mac mode
 *   rewrites each frame's source to the sending port's MAC and its
 *   destination to the other port's (--eth-peer), so both switches learn
 *   each MAC on one port. (io mode, used before, sends frames back
 *   unchanged: one MAC then arrives on both ports, the tables flap and every
 *   frame is flooded; the run prints the flooded share to show which case
 *   was measured.)
 *
 * `--ring packed` runs every cell on split and on packed virtqueues (the
 * generator's virtio-user with packed_vq=1), interleaved in each round, and
 * prints packed/split per switch; `--ring split` (default) only split.
 *
 * Runs alternate embedded/OvS (order flipped each round) because rates on
 * this host are bimodal (vCPU placement changes every 5-30 s): only
 * interleaved runs compare. The rate is read from testpmd's own counters
 * (one meter for both switches): packets received back by testpmd on both
 * ports per second, i.e. packets the switch forwarded, both directions.
 *
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/datapath/compare.ts \
 *       [--seconds 20] [--rounds 1] [--sizes 64,1518] [--queues 1,2] \
 *       [--only embedded|ovs] [--ovs-memory huge|nohuge] [--gen-memory nohuge|huge] [--bursts 16] [--in-order 1|0] [--ring split|packed] [--burst-stats] [--stream-stats] [--json FILE]
 *   (short mode: --seconds 5)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { embeddedBackend } from '../../src/backends/embedded/index.js';
import { ovsBackend } from '../../src/backends/ovs/index.js';
import { instanceState, withClient } from '../../src/backends/ovs/instance.js';
import { VSWITCH_DB } from '../../src/backends/ovs/ovsdb/cfg.js';
import { ovsPaths } from '../../src/backends/ovs/paths.js';
import { controlRequest } from '../../src/datapath/control-client.js';
import { sleep, until as waitUntil } from '../../test/support/wait.js';
import { featureNames } from '../../src/datapath/vhost-user/messages.js';
import { map, op } from '../../src/backends/ovs/ovsdb/values.js';
import type { DatapathBackend } from '../../src/backends/types.js';
import type { Plan, VmPortPlan } from '../../src/core/plan.js';
import { releaseHugepages, reserveHugepages } from '../../src/host/hugepages.js';
import type { HugepageReservation } from '../../src/host/state.js';
import { onInterrupt } from '../interrupt.js';
import type { DatapathKind } from '../../src/core/limits.js';

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
};
const SECONDS = Number(opt('seconds', '20'));
const ROUNDS = Number(opt('rounds', '1'));
const SIZES = opt('sizes', '64,1518').split(',').map(Number);
const QUEUES = opt('queues', '1,2').split(',').map(Number);
const BURSTS = Number(opt('bursts', '16'));
/** virtio_user's in_order devarg (DPDK default 1): whether the generator asks for VIRTIO_F_IN_ORDER, which picks its rx/tx paths. */
const IN_ORDER = opt('in-order', '1');
/** Virtqueue layouts to run: `packed` compares packed against split in the same run. */
const RINGS: Ring[] = opt('ring', 'split') === 'packed' ? ['split', 'packed'] : ['split'];
type Ring = 'split' | 'packed';
const WARM_MS = 3000;
const ONLY = opt('only', '');
const KINDS = (['embedded', 'ovs'] as const).filter((k) => !ONLY || k === ONLY);
const OVS_HUGE_PAGES = 96; // 2M pages: socket-mem 128 MB plus slack
const CLK_TCK = 100;
const MACS = ['52:54:00:00:b0:01', '52:54:00:00:b0:02'];

const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : NaN);

const OVS_MEMORY = opt('ovs-memory', 'huge') as 'huge' | 'nohuge';
/**
 * The generator's (the "guest's") memory: 4 KiB pages (memfd, the default
 * here) or 2 MiB hugepages. Each switch copies frames out of and into it;
 * on 4 KiB pages nearly every 1518-byte frame costs TLB misses.
 */
const GEN_MEMORY = opt('gen-memory', 'nohuge') as 'huge' | 'nohuge';
const GEN_HUGE_PAGES = 300; // 2M pages: testpmd -m 512 plus slack
/** testpmd's burst-size histograms: empty RX bursts mean testpmd waited for the switch. */
const BURST_STATS = argv.includes('--burst-stats');
/** Per forwarding stream (RX port/queue → TX port/queue), testpmd's frames: which queues a switch's traffic rides. */
const STREAM_STATS = process.argv.includes('--stream-stats');

function cpuTicks(pid: number): number {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
}

/** The benches wait longer than tests: a run boots guests and OvS. */
const until = <T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000) => waitUntil(what, f, ms, 100);

function benchPlan(kind: DatapathKind, dir: string, queues: number, hugeDir?: string): Plan {
    const ports: VmPortPlan[] = [0, 1].map((i) => ({
        id: `g.p${i}`, vm: 'g', name: `p${i}`, bridge: 'br0', datapath: kind, mac: MACS[i], mtu: 1500, queues,
        vhostMode: 'client', socketPath: path.join(dir, `p${i}.sock`), mrgRxbuf: true, vectors: 0,
        queueCores: Array.from({ length: queues }, () => 1),
    }));
    return {
        version: 1,
        topology: `cmp${process.pid}`,
        sourceFile: path.join(dir, 'bench.vtopo'),
        runDir: dir,
        host: { cores: [0, 1], memoryBytes: 4 << 30, pollCores: [1] },
        datapaths: kind === 'embedded'
            ? { embedded: { controlSocket: path.join(dir, 'dp.sock'), pidFile: path.join(dir, 'dp.pid'), logFile: path.join(dir, 'dp.log'), pollCores: [1] } }
            : { ovs: { mode: 'private', dbSocket: path.join(dir, 'ovs', 'db.sock'), runDir: path.join(dir, 'ovs'), netns: `vtopo-cmp${process.pid}`, filePrefix: `vtopo-cmp${process.pid}`, ...(hugeDir ? { hugepageDir: hugeDir, socketMemMb: 128 } : { noHuge: true }) } },
        bridges: [{ name: 'br0', datapath: kind, mtu: 1500 }],
        links: [],
        nics: [],
        vms: [{ name: 'g', cpus: 1, memoryBytes: 0, accelRequested: 'tcg', accel: 'tcg', image: { kind: 'default' }, memoryBackend: { kind: 'memfd' }, qmpSocket: '', agentSocket: '', consoleSocket: '', serialLog: '', qemuLog: '', pidFile: '', ports }],
        notes: [],
    };
}

/** testpmd in interactive mode, driven over stdin; counters parsed from `show port stats all`. */
class Testpmd {
    private out = '';
    readonly proc: ChildProcess;
    constructor(socks: string[], queues: number, readonly prefix: string, hugeDir?: string, ring: Ring = 'split') {
        const q = `${queues > 1 ? `,queues=${queues}` : ''},in_order=${IN_ORDER}${ring === 'packed' ? ',packed_vq=1' : ''}`;
        // One file for all of its memory: vhost-user passes at most 8 regions.
        const mem = hugeDir ? ['--huge-dir', hugeDir, '--single-file-segments'] : ['--no-huge'];
        this.proc = spawn('taskset', ['-c', '0', 'stdbuf', '-oL', 'dpdk-testpmd', '--no-pci', ...mem, '-m', '512', `--file-prefix=${prefix}`, '--lcores', '0@0,1@0', '--no-telemetry',
            ...socks.flatMap((s, i) => ['--vdev', `net_virtio_user${i},path=${s},server=1,mac=${MACS[i]}${q}`]),
            '--', '-i', ...(BURST_STATS ? ['--record-burst-stats'] : []), '--total-num-mbufs=16384', `--rxq=${queues}`, `--txq=${queues}`, '--port-topology=chained', '--nb-cores=1', '--forward-mode=mac',
            `--eth-peer=0,${MACS[1]}`, `--eth-peer=1,${MACS[0]}`], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        this.proc.stdout!.on('data', (d) => (this.out += d));
        this.proc.stderr!.on('data', (d) => (this.out += d));
    }
    text(): string {
        return this.out;
    }
    /** Sends a command and resolves with its output (up to the next prompt). */
    async cmd(c: string, ms = 10_000): Promise<string> {
        const from = this.out.length;
        this.proc.stdin!.write(`${c}\n`);
        return until(`testpmd: ${c}`, () => {
            const i = this.out.indexOf('testpmd> ', from);
            return i >= 0 ? this.out.slice(from, i) || ' ' : undefined;
        }, ms);
    }
    /** Total RX and TX packets over all ports. */
    async counters(): Promise<{ rx: number; tx: number; t: number }> {
        const t = performance.now();
        const s = await this.cmd('show port stats all');
        let rx = 0;
        let tx = 0;
        for (const m of s.matchAll(/RX-packets:\s+(\d+)/g)) rx += Number(m[1]);
        for (const m of s.matchAll(/TX-packets:\s+(\d+)/g)) tx += Number(m[1]);
        return { rx, tx, t: (t + performance.now()) / 2 };
    }
    async stop(): Promise<void> {
        const p = this.proc;
        if (p.pid && p.exitCode === null && p.signalCode === null) {
            const gone = new Promise((r) => p.once('exit', r));
            try { p.stdin!.write('quit\n'); } catch { /* closed */ }
            const t = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 3000);
            await gone;
            clearTimeout(t);
        }
        rmSync(`/var/run/dpdk/${this.prefix}`, { recursive: true, force: true });
    }
}

interface Result {
    kind: DatapathKind;
    ring: Ring;
    size: number;
    queues: number;
    round: number;
    mpps: number;
    min: number;
    max: number;
    samples: number[];
    cpuPerMpkt: number;
    cpuShare: number;
    /** Sent into the switch minus received back, over the measured window. */
    lost: number;
    /** The switch's own drop counters at the end. */
    switchDrops: number;
    /** testpmd could not enqueue during the window (the switch's ring full: back-pressure). */
    genTxDropped: number;
    /** How the switch saw the traffic: embedded, flooded share of frames; OvS, MAC moves. */
    learning: string;
}

/** Evidence that the run measured known unicast, not flooding. */
async function learning(kind: DatapathKind, plan: Plan): Promise<string> {
    if (kind === 'embedded') {
        const st = await controlRequest(plan.datapaths.embedded!.controlSocket, 'status', {});
        const b = st.bridges[0];
        return `flooded ${((100 * b.flooded) / Math.max(1, b.flooded + b.forwarded)).toFixed(3)}%`;
    }
    const r = spawnSync('ovs-appctl', ['-t', ovsPaths(plan).vswitchdCtl, 'fdb/stats-show', 'br0'], { encoding: 'utf8' });
    const moved = /moved MAC entries\s*:\s*(\d+)/.exec(r.stdout ?? '');
    return moved ? `MAC moves ${moved[1]}` : `fdb/stats-show: ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`;
}

/** The virtio features the generator's driver negotiated with the switch: they pick testpmd's rx/tx paths. */
async function negotiated(kind: DatapathKind, plan: Plan): Promise<string> {
    if (kind === 'embedded') {
        const st = await controlRequest(plan.datapaths.embedded!.controlSocket, 'status', {});
        return (st.ports[0]?.features ?? []).join(' ');
    }
    const r = spawnSync('ovs-vsctl', [`--db=unix:${plan.datapaths.ovs!.dbSocket}`, '--columns=status', 'list', 'Interface'], { encoding: 'utf8' });
    const m = /features="?(0x[0-9a-f]+)/.exec(r.stdout ?? '');
    if (!m) return `features: not reported (${(r.stderr || '').trim().split('\n')[0]})`;
    const f = BigInt(m[1]);
    const bits = [...Array(64).keys()].filter((b) => (f >> BigInt(b)) & 1n);
    return bits.map((b) => featureNames[b] ?? `bit${b}`).join(' ') + ` (${m[1]})`;
}

async function runOne(kind: DatapathKind, size: number, queues: number, round: number, ring: Ring): Promise<Result> {
    const dir = mkdtempSync('/tmp/vtc-');
    const be: DatapathBackend = kind === 'embedded' ? embeddedBackend : ovsBackend;
    let huge: HugepageReservation | undefined;
    if (kind === 'ovs' && OVS_MEMORY === 'huge') {
        huge = reserveHugepages({ pageSizeBytes: 2 << 20, count: OVS_HUGE_PAGES, mountDir: path.join(dir, 'huge') }, () => {});
    }
    const plan = benchPlan(kind, dir, queues, huge?.mountDir);
    let pmd: Testpmd | undefined;
    let genHuge: HugepageReservation | undefined;
    const cleanup = async () => {
        await pmd?.stop();
        await be.stop(plan).catch((e) => console.error(`stop ${kind}: ${(e as Error).message}`));
        if (huge) releaseHugepages(huge);
        if (genHuge) releaseHugepages(genHuge);
        rmSync(dir, { recursive: true, force: true });
    };
    const registered = onInterrupt(cleanup);
    try {
        if (GEN_MEMORY === 'huge') genHuge = reserveHugepages({ pageSizeBytes: 2 << 20, count: GEN_HUGE_PAGES, mountDir: path.join(dir, 'gen-huge') }, () => {});
        await be.start(plan);
        if (kind === 'ovs') {
            // A benchmark gives the PMD its best: busy polling (the backend sets maxsleep for small hosts with guests).
            await withClient(plan, (c) => c.transact(VSWITCH_DB, [
                op.mutate('Open_vSwitch', [], [['other_config', 'delete', ['set', ['pmd-maxsleep']]]]),
                op.mutate('Open_vSwitch', [], [['other_config', 'insert', map({ 'pmd-maxsleep': '0' })]]),
            ]));
        }
        await be.addBridge(plan, plan.bridges[0]);
        for (const p of plan.vms[0].ports) await be.addVmPort(plan, p);
        pmd = new Testpmd(plan.vms[0].ports.map((p) => p.socketPath), queues, `vtc-${process.pid}`, genHuge?.mountDir, ring);
        await until('testpmd prompt', () => pmd!.text().includes('testpmd> '), 60_000);
        await until('both ports up with all vrings', async () => (await be.snapshot(plan)).ports.every((p) => p.link === 'up' && (p.num_of_vrings ?? 2 * queues) >= 2 * queues), 30_000);
        const swPid = kind === 'embedded' ? (await be.snapshot(plan)).datapath.pid! : (await instanceState(plan)).vswitchdPid!;
        console.log(`${kind} q${queues} ${ring}: negotiated ${await negotiated(kind, plan)}`);
        await pmd.cmd(`set txpkts ${size}`);
        await pmd.cmd(`start tx_first ${BURSTS}`);
        await sleep(WARM_MS);
        const dropped = async () => [...(await pmd!.cmd('show fwd stats all')).matchAll(/TX-dropped:\s+(\d+)/g)].reduce((n, m) => Math.max(n, Number(m[1])), 0);
        const dropped0 = await dropped();
        const rates: number[] = [];
        let prev = await pmd.counters();
        const first = prev;
        const cpu0 = cpuTicks(swPid);
        for (let s = 0; s < SECONDS; s++) {
            await sleep(1000 - ((performance.now() - prev.t) % 1000));
            const c = await pmd.counters();
            rates.push((c.rx - prev.rx) / ((c.t - prev.t) / 1000));
            prev = c;
        }
        const cpuS = (cpuTicks(swPid) - cpu0) / CLK_TCK;
        const pkts = prev.rx - first.rx;
        const wall = (prev.t - first.t) / 1000;
        const genTxDropped = (await dropped()) - dropped0;
        if (BURST_STATS) {
            const st = await pmd.cmd('show fwd stats all');
            for (const l of st.split('\n').filter((x) => /bursts/.test(x))) console.log(`  ${kind} testpmd ${l.trim()}`);
        }
        if (STREAM_STATS) {
            const st = await pmd.cmd('show fwd stats all');
            const streams = [...st.matchAll(/RX Port=\s*(\d+)\/Queue=\s*(\d+) -> TX Port=\s*(\d+)\/Queue=\s*(\d+)[^\n]*\n\s*RX-packets:\s*(\d+)\s+TX-packets:\s*(\d+)\s+TX-dropped:\s*(\d+)/g)];
            console.log(`  ${kind} q${queues} ${ring} testpmd streams: ` + streams.map((m) => `p${m[1]}q${m[2]}→p${m[3]}q${m[4]} rx ${(Number(m[5]) / 1e6).toFixed(1)}M tx ${(Number(m[6]) / 1e6).toFixed(1)}M drop ${m[7]}`).join('; '));
            const snap = await be.snapshot(plan);
            console.log(`  ${kind} switch queues (status tx/rx packets): ` + snap.ports.map((p) => `${p.id}: ${(p.queues ?? []).map((q) => `q${q.queue} ${(q.tx_packets / 1e6).toFixed(1)}M/${(q.rx_packets / 1e6).toFixed(1)}M`).join(' ')}`).join('; '));
        }
        await pmd.cmd('stop');
        const snap = await be.snapshot(plan);
        const learned = await learning(kind, plan);
        return {
            kind, ring, size, queues, round,
            mpps: median(rates) / 1e6, min: Math.min(...rates) / 1e6, max: Math.max(...rates) / 1e6, samples: rates.map((r) => +(r / 1e6).toFixed(3)),
            cpuPerMpkt: pkts > 0 ? cpuS / (pkts / 1e6) : Infinity,
            cpuShare: cpuS / wall,
            lost: Math.max(0, (prev.tx - first.tx) - (prev.rx - first.rx)),
            switchDrops: snap.ports.reduce((n, p) => n + p.drops, 0),
            genTxDropped,
            learning: learned,
        };
    } catch (e) {
        if (pmd) console.error(`testpmd output tail:\n${pmd.text().slice(-1500)}`);
        throw e;
    } finally {
        registered();
        await cleanup();
    }
}

const fmt = (r: Result) =>
    `${r.kind.padEnd(8)} ${r.ring.padEnd(6)} ${String(r.size).padStart(4)} B  q${r.queues}  ${r.mpps.toFixed(3)} Mpps (1-s median; min ${r.min.toFixed(3)} max ${r.max.toFixed(3)})  ` +
    `CPU ${(r.cpuShare * 100).toFixed(0)}% = ${r.cpuPerMpkt.toFixed(3)} CPU-s/Mpkt  lost ${r.lost}  switch drops ${r.switchDrops}  gen tx-dropped ${r.genTxDropped}  ${r.learning}`;

const started = new Date().toISOString();
console.log(`compare: ${started}  ${SECONDS} s × ${ROUNDS} round(s)  sizes ${SIZES.join(',')}  queues ${QUEUES.join(',')}  bursts ${BURSTS}×32  in_order=${IN_ORDER}  rings ${RINGS.join(',')}  generator memory ${GEN_MEMORY}  OvS memory ${OVS_MEMORY}`);
const results: Result[] = [];
for (const q of QUEUES) {
    for (const size of SIZES) {
        for (let round = 0; round < ROUNDS; round++) {
            const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
            const rings = round % 2 === 0 ? RINGS : [...RINGS].reverse();
            for (const kind of order) {
                for (const ring of rings) {
                    const r = await runOne(kind, size, q, round, ring);
                    results.push(r);
                    console.log(fmt(r));
                }
            }
        }
    }
}
console.log('\nsummary (median over rounds of the 1-s medians)');
for (const ring of RINGS) for (const q of QUEUES) {
    for (const size of SIZES) {
        const of = (k: string) => results.filter((r) => r.kind === k && r.ring === ring && r.size === size && r.queues === q);
        const e = median(of('embedded').map((r) => r.mpps));
        const o = median(of('ovs').map((r) => r.mpps));
        const ec = median(of('embedded').map((r) => r.cpuPerMpkt));
        const oc = median(of('ovs').map((r) => r.cpuPerMpkt));
        // Each round's two runs are adjacent in time: their ratio is less exposed to the host's slow phases than a ratio of medians.
        const paired = [...Array(ROUNDS).keys()].map((round) => {
            const [er, or] = ['embedded', 'ovs'].map((k) => of(k).find((r) => r.round === round));
            return er && or ? er.mpps / or.mpps : NaN;
        }).filter((x) => !Number.isNaN(x));
        const pairs = paired.length ? `   per-round ratios ${paired.map((x) => x.toFixed(2)).join(' ')} (median ${median(paired).toFixed(2)})` : '';
        console.log(`${ring.padEnd(6)} ${String(size).padStart(4)} B  q${q}:  embedded ${e.toFixed(3)} Mpps (${ec.toFixed(3)} CPU-s/Mpkt)   OvS ${o.toFixed(3)} Mpps (${oc.toFixed(3)} CPU-s/Mpkt)   ratio ${(e / o).toFixed(2)}${pairs}`);
    }
}
if (RINGS.length > 1) {
    console.log('\npacked / split (median of per-round ratios, same switch, adjacent runs)');
    for (const q of QUEUES) {
        for (const size of SIZES) {
            const cells = KINDS.map((k) => {
                const ratios = [...Array(ROUNDS).keys()].map((round) => {
                    const [sp, pk] = RINGS.map((ring) => results.find((r) => r.kind === k && r.ring === ring && r.size === size && r.queues === q && r.round === round));
                    return sp && pk ? pk.mpps / sp.mpps : NaN;
                }).filter((x) => !Number.isNaN(x));
                return `${k} ${median(ratios).toFixed(2)}`;
            });
            console.log(`${String(size).padStart(4)} B  q${q}:  ${cells.join('   ')}`);
        }
    }
}
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify({ started, seconds: SECONDS, rounds: ROUNDS, bursts: BURSTS, inOrder: IN_ORDER, rings: RINGS, genMemory: GEN_MEMORY, ovsMemory: OVS_MEMORY, results }, null, 2));
