/**
 * Working in a running lab under TCG, through the CLI: three guests on the
 * embedded datapath (a and b on br0, c on br1, br0--br1 a patch link), one
 * deployment shared by every case. A guest restarts while the other two
 * ping each other; exec returns exit codes and streams; captures read back
 * with tcpdump (to a file and streamed live); a port's and a link's carrier
 * go down and up; a stopped guest stays stopped; bad input changes nothing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status, VmState } from '../../src/core/status.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { sleep } from '../../src/host/procs.js';
import { type CliResult, runVtopo } from '../runtime/cli-run.js';
import { leftovers } from '../runtime/leaks.js';

const dir = mkdtempSync('/tmp/vtl-');
const runRoot = path.join(dir, 'run');
const file = path.join(dir, 'lab.vtopo');
writeFileSync(file, `topology labctl {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge br0 { datapath embedded }
  bridge br1 { datapath embedded }
  link br0 br1
  vm a { cpus 1  memory 256M  port eth0 { bridge br0  ip 10.0.7.1/24 } }
  vm b { cpus 1  memory 256M  port eth0 { bridge br0  ip 10.0.7.2/24 } }
  vm c { cpus 1  memory 256M  port eth0 { bridge br1  ip 10.0.7.3/24 } }
}
`);

const vtopo = (...args: string[]): Promise<CliResult> => runVtopo(runRoot, args);

async function status(): Promise<Status> {
    const r = await vtopo('status', file, '--json');
    try {
        return JSON.parse(r.stdout) as Status;
    } catch {
        throw new Error(`vtopo status --json exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    }
}

const states = (s: Status) => Object.fromEntries(s.vms.map((v) => [v.name, v.state]));

/** `vtopo ARGS` as its own process, its output as it comes. */
function spawnVtopo(args: string[]) {
    const [node, ...pre] = selfExecArgv();
    return spawn(node, [...pre, ...args], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot } });
}

/** Received count from busybox ping's summary. */
const received = (out: string) => Number(/(\d+) packets received/.exec(out)?.[1] ?? -1);

beforeAll(async () => {
    const d = await vtopo('deploy', file);
    expect(d.code, d.stdout + d.stderr).toBe(0);
}, 400_000);

afterAll(async () => {
    await vtopo('destroy', file);
    const left = leftovers(path.join(runRoot, 'labctl'));
    rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
}, 180_000);

describe('lab control: one guest at a time, exec, capture, link (embedded, TCG)', () => {
    it('restarts c while a pings b: no echo between a and b is lost, c answers again, status goes restarting → running', async () => {
        // 40 echoes over 20 s span the whole stop and most of the boot.
        const ping = vtopo('exec', file, 'a', '--', 'ping', '-c', '40', '-i', '0.5', '10.0.7.2');
        await sleep(2000);
        const restart = vtopo('restart', file, 'c');
        const seen: VmState[] = [];
        let done = false;
        void restart.then(() => { done = true; });
        while (!done) {
            const s = states(await status());
            seen.push(s.c);
            expect(s.a).toBe('running');
            expect(s.b).toBe('running');
            await sleep(500);
        }
        const r = await restart;
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain('vm c: running');
        expect(seen).toContain('restarting');
        expect(seen).not.toContain('crashed');
        expect(states(await status()).c).toBe('running');
        const p = await ping;
        expect(p.code, p.stdout + p.stderr).toBe(0);
        expect(received(p.stdout), p.stdout).toBe(40);
        const back = await vtopo('exec', file, 'a', '--', 'ping', '-c', '3', '-w', '10', '10.0.7.3');
        expect(back.code, back.stdout + back.stderr).toBe(0);
    }, 400_000);

    it('exec: output and exit codes come back; a 5 s command streams; a missing binary gives the guest\'s error', async () => {
        const r = await vtopo('exec', file, 'a', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3');
        expect(r.code).toBe(3);
        expect(r.stdout).toBe('to-out\n');
        expect(r.stderr).toBe('to-err\n');
        const ip = await vtopo('exec', file, 'b', '--', 'ip', '-4', 'addr', 'show', 'eth0');
        expect(ip.code).toBe(0);
        expect(ip.stdout).toContain('10.0.7.2/24');

        // Lines must arrive while the command runs, not all at its end.
        const child = spawnVtopo(['exec', file, 'a', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; sleep 1; done']);
        const arrivals: { at: number; text: string }[] = [];
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (d: string) => arrivals.push({ at: Date.now(), text: d }));
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        const end = Date.now();
        expect(code).toBe(0);
        expect(arrivals.map((a) => a.text).join('')).toBe('line1\nline2\nline3\nline4\nline5\n');
        expect(arrivals.length).toBeGreaterThanOrEqual(3);
        // The first line came out while four more seconds of the command were still to run.
        expect(end - arrivals[0].at).toBeGreaterThan(2000);

        const missing = await vtopo('exec', file, 'a', '--', 'no-such-tool', '--help');
        expect(missing.code).toBe(127);
        expect(missing.stderr).toMatch(/no-such-tool: not found/);
    }, 300_000);

    it('capture: a pcap of a ping holds the echo requests and replies (tcpdump -r), to a file and streamed live on stdout', async () => {
        const out = path.join(dir, 'a.pcap');
        const cap = vtopo('capture', file, 'a.eth0', '-w', out, '--duration', '12');
        await sleep(3000);
        const ping = await vtopo('exec', file, 'a', '--', 'ping', '-c', '3', '10.0.7.2');
        expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        const c = await cap;
        expect(c.code, c.stderr).toBe(0);
        const text = execFileSync('tcpdump', ['-nr', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        expect(text.match(/10\.0\.7\.1 > 10\.0\.7\.2: ICMP echo request/g)?.length).toBe(3);
        expect(text.match(/10\.0\.7\.2 > 10\.0\.7\.1: ICMP echo reply/g)?.length).toBe(3);

        // vtopo capture -w - | tcpdump -r -: echoes show up while the ping still runs.
        const live = spawnVtopo(['capture', file, 'b.eth0', '-w', '-']);
        const td = spawn('tcpdump', ['-l', '-n', '-r', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
        live.stdout.pipe(td.stdin);
        let lines = '';
        td.stdout.setEncoding('utf8');
        td.stdout.on('data', (d: string) => { lines += d; });
        try {
            await sleep(3000);
            const long = vtopo('exec', file, 'b', '--', 'ping', '-c', '20', '10.0.7.1');
            let pingDone = false;
            void long.then(() => { pingDone = true; });
            // Watched until the ping ends, not for a fixed 15 s from spawning it: under load
            // the exec CLI alone can take about that long to start.
            let during = '';
            let duringPing = false;
            while (!during && !pingDone) {
                await sleep(250);
                if (/ICMP echo reply/.test(lines)) {
                    during = lines;
                    duringPing = !pingDone;
                }
            }
            expect(during, 'tcpdump printed nothing while the ping ran').toMatch(/10\.0\.7\.2 > 10\.0\.7\.1: ICMP echo request/);
            expect(duringPing).toBe(true);
            expect((await long).code).toBe(0);
        } finally {
            live.kill('SIGINT');
            await new Promise((resolve) => live.on('close', resolve));
            await new Promise((resolve) => td.on('close', resolve));
        }
        expect(lines.match(/ICMP echo reply/g)?.length).toBe(20);
        expect((await status()).ports.every((p) => p.link === 'up')).toBe(true);
    }, 300_000);

    it('capture -c COUNT stops after COUNT frames', async () => {
        const out = path.join(dir, 'count.pcap');
        const cap = vtopo('capture', file, 'a.eth0', '-w', out, '-c', '4');
        await sleep(3000);
        const ping = await vtopo('exec', file, 'a', '--', 'ping', '-c', '5', '10.0.7.2');
        expect(ping.code).toBe(0);
        const c = await cap;
        expect(c.code, c.stderr).toBe(0);
        expect(c.stderr).toContain('4 frame(s) captured');
        const text = execFileSync('tcpdump', ['-nr', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        expect(text.trim().split('\n')).toHaveLength(4);
    }, 300_000);

    it('link down: the guest sees NO-CARRIER and pings fail; up: they pass again (a guest port and a patch link)', async () => {
        const down = await vtopo('link', file, 'a.eth0', 'down');
        expect(down.code, down.stderr).toBe(0);
        const ipDown = await vtopo('exec', file, 'a', '--', 'ip', 'link', 'show', 'eth0');
        expect(ipDown.stdout).toContain('NO-CARRIER');
        const failed = await vtopo('exec', file, 'b', '--', 'ping', '-c', '2', '-w', '3', '10.0.7.1');
        expect(failed.code).not.toBe(0);
        expect(received(failed.stdout)).toBe(0);
        const s = await status();
        expect(s.ports.find((p) => p.id === 'a.eth0')).toMatchObject({ link: 'down', admin: 'down' });
        expect(s.vms.find((v) => v.name === 'a')?.links_down).toEqual(['eth0']);

        const up = await vtopo('link', file, 'a.eth0', 'up');
        expect(up.code, up.stderr).toBe(0);
        const ipUp = await vtopo('exec', file, 'a', '--', 'ip', 'link', 'show', 'eth0');
        expect(ipUp.stdout).not.toContain('NO-CARRIER');
        expect(ipUp.stdout).toContain('LOWER_UP');
        const passed = await vtopo('exec', file, 'b', '--', 'ping', '-c', '2', '-w', '10', '10.0.7.1');
        expect(passed.code, passed.stdout).toBe(0);

        expect((await vtopo('link', file, 'br0--br1', 'down')).code).toBe(0);
        const cut = await vtopo('exec', file, 'a', '--', 'ping', '-c', '2', '-w', '3', '10.0.7.3');
        expect(received(cut.stdout)).toBe(0);
        expect((await vtopo('link', file, 'br0--br1', 'up')).code).toBe(0);
        const joined = await vtopo('exec', file, 'a', '--', 'ping', '-c', '2', '-w', '10', '10.0.7.3');
        expect(joined.code, joined.stdout).toBe(0);
    }, 300_000);

    it('stop: the guest shows stopped (not crashed) in a fresh process and stays so; start brings it back', async () => {
        const stop = await vtopo('stop', file, 'c');
        expect(stop.code, stop.stderr).toBe(0);
        await sleep(1500);
        const s = await status();
        expect(s.vms.find((v) => v.name === 'c')).toMatchObject({ state: 'stopped', user_stopped: true });
        expect(states(s)).toMatchObject({ a: 'running', b: 'running' });
        const ex = await vtopo('exec', file, 'c', '--', 'true');
        expect(ex.code).toBe(1);
        expect(ex.stderr).toMatch(/vm c is stopped.*\n.*fix: start it: vtopo start/);
        const start = await vtopo('start', file, 'c');
        expect(start.code, start.stderr).toBe(0);
        expect(states(await status()).c).toBe('running');
        const back = await vtopo('exec', file, 'a', '--', 'ping', '-c', '2', '-w', '10', '10.0.7.3');
        expect(back.code, back.stdout).toBe(0);
    }, 300_000);

    it('bad input: unknown vm or port, a second console: one clear error naming the fix, nothing changed', async () => {
        const before = await status();
        const cases: [string[], RegExp][] = [
            [['restart', file, 'zz'], /has no vm zz\n {2}fix: name one of: a, b, c/],
            [['exec', file, 'zz', '--', 'true'], /has no vm zz\n {2}fix: name one of: a, b, c/],
            [['capture', file, 'a.eth9', '-c', '1'], /has no port a\.eth9\n {2}fix: name a guest port as VM\.PORT or a nic: a\.eth0, b\.eth0, c\.eth0/],
            [['link', file, 'q.eth0', 'down'], /has no port q\.eth0\n {2}fix: .*br0--br1/],
            [['link', file, 'a.eth0', 'sideways'], /say down or up, not sideways/],
        ];
        for (const [args, message] of cases) {
            const r = await vtopo(...args);
            expect(r.code, args.join(' ')).not.toBe(0);
            expect(r.stderr).toMatch(message);
        }
        // One console attached (its input held open), a second one refused.
        const first = spawnVtopo(['console', file, 'a']);
        let firstOut = '';
        first.stdout.setEncoding('utf8');
        first.stdout.on('data', (d: string) => { firstOut += d; });
        first.stderr.on('data', (d: Buffer) => { firstOut += d.toString(); });
        try {
            // A CLI start under load (tsx, a busy CI machine) can take well over 10 s.
            for (let i = 0; i < 240 && !firstOut.includes('connected'); i++) await sleep(250);
            expect(firstOut).toContain("connected to vm a's console");
            const second = await vtopo('console', file, 'a');
            expect(second.code).toBe(1);
            expect(second.stderr).toMatch(/another console is attached to vm a \(pid \d+\)\n {2}fix: leave that one first \(Ctrl-\] in its terminal\)/);
            // The first one works: a command typed there runs in the guest.
            first.stdin.write('echo con$((40+2))sole\r');
            for (let i = 0; i < 120 && !firstOut.includes('con42sole'); i++) await sleep(250);
            expect(firstOut).toContain('con42sole');
            first.stdin.write(Buffer.from([0x1d]));
            expect(await new Promise((resolve) => first.on('close', resolve))).toBe(0);
        } finally {
            first.kill();
        }
        const after = await status();
        expect(states(after)).toEqual(states(before));
        expect(after.ports.map((p) => `${p.id}:${p.link}`)).toEqual(before.ports.map((p) => `${p.id}:${p.link}`));
    }, 300_000);
});
