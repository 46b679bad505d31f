/**
 * Capture and link on OvS-DPDK under TCG, through the CLI: the two-VM
 * example on a private OvS. A capture is an OvS Mirror to an internal port
 * vtopo adds and tcpdump reads in the OvS namespace; the pcap of a ping
 * holds its requests and replies (to a file and streamed live), and the
 * mirror and its port are gone afterwards. Link down takes the guest NIC's
 * carrier (QMP set_link): NO-CARRIER in the guest, pings fail; up: they pass.
 * A rate is an egress-policer QoS on the port, set and cleared live: iperf3
 * between the guests sees it; a delay (which OvS has no way to do) is refused.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ovsPaths } from '../../src/backends/ovs/paths.js';
import type { Plan } from '../../src/core/plan.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { sleep } from '../../src/host/procs.js';
import { type CliResult, runVtopo } from '../runtime/cli-run.js';
import { leftovers } from '../runtime/leaks.js';
import { agentIperf3 } from '../../src/backends/qemu/agent.js';

const dir = mkdtempSync('/tmp/vtlo-');
const runRoot = path.join(dir, 'run');
const runDir = path.join(runRoot, 'labovs');
const file = path.join(dir, 'ovs.vtopo');
writeFileSync(file, readFileSync('examples/ovs.vtopo', 'utf8').replace('topology ovslab', 'topology labovs')
    .replace(/10\.0\.2\./g, '10.0.8.'));

const vtopo = (...args: string[]): Promise<CliResult> => runVtopo(runRoot, args);

function spawnVtopo(args: string[]) {
    const [node, ...pre] = selfExecArgv();
    return spawn(node, [...pre, ...args], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot } });
}

/** Resolves when the child has ended (at once if it already has: its 'close' will not come again). */
const closed = (c: ChildProcess) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve();
    else c.on('close', () => resolve());
});

const received = (out: string) => Number(/(\d+) packets received/.exec(out)?.[1] ?? -1);

/** Rows of an OvS table in the private database, as ovs-vsctl lists them. */
function ovsRows(table: string): string {
    const plan = (JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8')) as { deployed: Plan }).deployed;
    return execFileSync('ovs-vsctl', [`--db=unix:${ovsPaths(plan).dbSocket}`, '--columns=name', 'list', table], { encoding: 'utf8' });
}

beforeAll(async () => {
    const d = await vtopo('deploy', file);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    // OvS may take a few seconds to forward after deploy (see e2e.test).
    for (let i = 0; i < 10; i++) {
        const p = await vtopo('exec', file, 'a', '--', 'ping', '-c', '1', '-w', '3', '10.0.8.2');
        if (p.code === 0) break;
    }
}, 400_000);

afterAll(async () => {
    await vtopo('destroy', file);
    const left = leftovers(runDir);
    rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
}, 180_000);

describe('lab control on OvS-DPDK (TCG)', () => {
    it('capture: a mirror holds the echo requests and replies of a ping (tcpdump -r), and is removed after', async () => {
        const out = path.join(dir, 'a.pcap');
        const cap = vtopo('capture', file, 'a.eth0', '-w', out, '--duration', '15');
        await sleep(5000);
        const ping = await vtopo('exec', file, 'a', '--', 'ping', '-c', '3', '10.0.8.2');
        expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        const c = await cap;
        expect(c.code, c.stderr).toBe(0);
        expect(c.stderr).toContain('(ovs datapath)');
        const text = execFileSync('tcpdump', ['-nr', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        expect(text.match(/10\.0\.8\.1 > 10\.0\.8\.2: ICMP echo request/g)?.length, text).toBe(3);
        expect(text.match(/10\.0\.8\.2 > 10\.0\.8\.1: ICMP echo reply/g)?.length, text).toBe(3);
        expect(ovsRows('Mirror').trim()).toBe('');
        expect(ovsRows('Port')).not.toMatch(/vcap/);
    }, 300_000);

    it('capture -w - streams a pcap that tcpdump parses while the ping runs', async () => {
        const live = spawnVtopo(['capture', file, 'b.eth0', '-w', '-']);
        const td = spawn('tcpdump', ['-l', '-n', '-r', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
        live.stdout.pipe(td.stdin);
        let lines = '';
        let started = '';
        live.stderr.on('data', (d: Buffer) => { started += d.toString(); });
        td.stdout.setEncoding('utf8');
        td.stdout.on('data', (d: string) => { lines += d; });
        try {
            for (let i = 0; i < 240 && !started.includes('capturing'); i++) await sleep(250);
            expect(started).toContain('capturing b.eth0');
            // The ping as its own process, so a failure shows how far it had got.
            const ping = spawnVtopo(['exec', file, 'b', '--', 'ping', '-c', '20', '10.0.8.1']);
            let pingOut = '';
            ping.stdout.setEncoding('utf8');
            ping.stdout.on('data', (d: string) => { pingOut += d; });
            let pingCode: number | null | undefined;
            const pinged = new Promise<number | null>((resolve) => ping.on('close', (code) => { pingCode = code; resolve(code); }));
            // Watched until the ping ends, not for a fixed 15 s from spawning it: under a
            // full run's load the `vtopo exec` CLI can take about that long to start, and
            // the window closed before the guest sent its first echo.
            let during = '';
            let duringPing = false;
            while (!during && pingCode === undefined) {
                await sleep(250);
                if (/ICMP echo reply/.test(lines)) {
                    during = lines;
                    duringPing = pingCode === undefined;
                }
            }
            const seen = `tcpdump printed nothing while the ping ran; the ping printed: ${pingOut}; capture: ${started}`;
            expect(during, seen).toMatch(/10\.0\.8\.2 > 10\.0\.8\.1: ICMP echo request/);
            expect(duringPing, seen).toBe(true);
            expect(await pinged, pingOut).toBe(0);
            // The guest printing its last reply races that reply's mirrored copy on its way through the mirror
            // port's tcpdump and two pipes (19 of 20 were seen once when SIGINT came at once): let it arrive first.
            for (let i = 0; i < 40 && (lines.match(/ICMP echo reply/g)?.length ?? 0) < 20; i++) await sleep(250);
        } finally {
            live.kill('SIGINT');
            await closed(live);
            await closed(td);
        }
        expect(lines.match(/ICMP echo reply/g)?.length).toBe(20);
        expect(ovsRows('Mirror').trim()).toBe('');
    }, 300_000);

    it('impair --rate on OvS: an egress-policer QoS on the port paces iperf3 (UDP) to the rate, live; --clear removes it; a delay is refused naming the fix', async () => {
        const plan = (JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8')) as { deployed: Plan }).deployed;
        const a = plan.vms.find((v) => v.name === 'a')!;
        const udp = async () => {
            const r = await agentIperf3(a, '10.0.8.2', { seconds: 8, udp: true });
            expect(r.ok, r.error).toBe(true);
            return r.mbps!;
        };
        // 20 Mbit/s, the figure: a guest on OvS offered 124 Mbit/s of UDP with nothing set, so the policer decides.
        const set = await vtopo('impair', file, 'b.eth0', '--rate', '20mbit');
        expect(set.code, set.stdout + set.stderr).toBe(0);
        const qos = execFileSync('ovs-vsctl', [`--db=unix:${ovsPaths(plan).dbSocket}`, '--columns=type,other_config', 'list', 'QoS'], { encoding: 'utf8' });
        expect(qos).toContain('egress-policer');
        const limited = await udp();
        console.log(`ovs rate 20mbit: iperf3 UDP received ${limited} Mbit/s`);
        // Within ± 10 % (5 Mbit/s measured 4.91).
        expect(limited).toBeGreaterThan(18);
        expect(limited).toBeLessThan(22);

        const cleared = await vtopo('impair', file, 'b.eth0', '--clear');
        expect(cleared.code, cleared.stdout + cleared.stderr).toBe(0);
        expect(execFileSync('ovs-vsctl', [`--db=unix:${ovsPaths(plan).dbSocket}`, '--columns=type', 'list', 'QoS'], { encoding: 'utf8' })).not.toContain('egress-policer');
        const free = await udp();
        console.log(`ovs rate cleared: iperf3 UDP received ${free} Mbit/s`);
        expect(free).toBeGreaterThan(limited * 1.5);

        const delay = await vtopo('impair', file, 'b.eth0', '--delay', '20ms');
        expect(delay.code).not.toBe(0);
        expect(delay.stderr).toMatch(/delay.* needs datapath embedded/);
    }, 300_000);

    it('link down: NO-CARRIER in the guest and pings fail; up: they pass again', async () => {
        expect((await vtopo('link', file, 'a.eth0', 'down')).code).toBe(0);
        const ipDown = await vtopo('exec', file, 'a', '--', 'ip', 'link', 'show', 'eth0');
        expect(ipDown.stdout).toContain('NO-CARRIER');
        const failed = await vtopo('exec', file, 'b', '--', 'ping', '-c', '2', '-w', '3', '10.0.8.1');
        expect(received(failed.stdout)).toBe(0);
        const st = JSON.parse((await vtopo('status', file, '--json')).stdout) as { ports: { id: string; admin?: string }[] };
        expect(st.ports.find((p) => p.id === 'a.eth0')?.admin).toBe('down');
        expect((await vtopo('link', file, 'a.eth0', 'up')).code).toBe(0);
        const ipUp = await vtopo('exec', file, 'a', '--', 'ip', 'link', 'show', 'eth0');
        expect(ipUp.stdout).toContain('LOWER_UP');
        const passed = await vtopo('exec', file, 'b', '--', 'ping', '-c', '2', '-w', '10', '10.0.8.1');
        expect(passed.code, passed.stdout).toBe(0);
    }, 300_000);
});
