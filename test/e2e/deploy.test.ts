/**
 * End to end under TCG through the CLI a user types: deploy the two-VM
 * example on the embedded datapath → verify → status (links up, counters
 * moving) → edit (third VM, more queues) → only that changes → a guest
 * killed -9 shows crashed → the datapath killed -9 → destroy leaves no
 * process, socket, tap or mount of the topology.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/core/status.js';
import { alive, sleep } from '../../src/host/procs.js';
import { type CliResult, runVtopo, runVtopoJson } from '../runtime/cli-run.js';
import { leftovers } from '../runtime/leaks.js';

const dir = mkdtempSync('/tmp/vte-');
const runRoot = path.join(dir, 'run');
const runDir = path.join(runRoot, 'two_vms');
const file = path.join(dir, 'two-vms.vtopo');
const original = readFileSync('examples/two-vms.vtopo', 'utf8');
writeFileSync(file, original);

function vtopo(...args: string[]): Promise<CliResult> {
    return runVtopo(runRoot, args);
}

const json = <T>(...args: string[]): Promise<T> => runVtopoJson<T>(runRoot, args);

const status = () => json<Status>('status', file);
type Pairs = { pairs: { from: string; to: string; ok: boolean; rtt_ms?: number }[] };

afterAll(async () => {
    await vtopo('destroy', file);
    rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('e2e: two VMs on the embedded datapath under TCG', () => {
    let firstStatus: Status;

    it('deploys the example, and verify finds every pair reachable', async () => {
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(d.stdout).toMatch(/\[ready\]/);
        const v = await vtopo('verify', file, '--json');
        expect(v.code, v.stdout + v.stderr).toBe(0);
        const pairs = (JSON.parse(v.stdout) as Pairs).pairs;
        expect(pairs.map((p) => `${p.from}>${p.to}:${p.ok}`).sort()).toEqual(['a>b:true', 'b>a:true']);
        expect(pairs.every((p) => typeof p.rtt_ms === 'number')).toBe(true);
    }, 300_000);

    it('status shows guests running, links up, and counters that move with traffic', async () => {
        firstStatus = await status();
        expect(firstStatus.vms.map((v) => [v.name, v.state])).toEqual([['a', 'running'], ['b', 'running']]);
        expect(firstStatus.datapaths[0]).toMatchObject({ kind: 'embedded', running: true });
        for (const id of ['a.eth0', 'b.eth0']) {
            const p = firstStatus.ports.find((x) => x.id === id)!;
            expect(p, id).toBeDefined();
            expect(p).toMatchObject({ vm: id[0], port: 'eth0', link: 'up' });
        }
        const v = await vtopo('verify', file, '--json');
        expect(v.code).toBe(0);
        const after = await status();
        for (const id of ['a.eth0', 'b.eth0']) {
            const before = firstStatus.ports.find((x) => x.id === id)!;
            const now = after.ports.find((x) => x.id === id)!;
            expect(now.rx_packets, id).toBeGreaterThan(before.rx_packets);
            expect(now.tx_packets, id).toBeGreaterThan(before.tx_packets);
        }
        const text = await vtopo('status', file);
        expect(text.stdout).toMatch(/a\.eth0\s+br0\s+up/);
    }, 120_000);

    it('after an edit (third VM, 2 queues on a) deploy changes only those and b keeps running', async () => {
        const edited = original
            .replace(/vm a \{\s*cpus 1/, 'vm a {\n    cpus 2')
            .replace("port eth0 { bridge br0  ip 10.0.0.1/24 }", 'port eth0 { bridge br0  queues 2  ip 10.0.0.1/24 }')
            .replace(/\}\s*$/, '  vm c {\n    memory 256M\n    port eth0 { bridge br0  ip 10.0.0.3/24 }\n  }\n}\n');
        expect(edited).toContain('queues 2');
        expect(edited).toContain('vm c');
        writeFileSync(file, edited);
        const bPid = firstStatus.vms.find((v) => v.name === 'b')!.pid!;
        const dpPid = firstStatus.datapaths[0].pid;

        const plan = await json<{ actions: { kind: string; target: string }[] }>('plan', file);
        const r = await json<{ applied: { kind: string; target: string }[]; status: Status }>('deploy', file);
        const applied = r.applied.map((a) => `${a.kind} ${a.target}`);
        expect(applied).toEqual(plan.actions.map((a) => `${a.kind} ${a.target}`));
        expect(applied.sort()).toEqual([
            'add-port port a.eth0', 'add-port port c.eth0', 'remove-port port a.eth0', 'start-vm vm a', 'start-vm vm c', 'stop-vm vm a',
        ]);
        const s = await status();
        expect(s.vms.find((v) => v.name === 'b')!.pid).toBe(bPid);
        if (dpPid) expect(s.datapaths[0].pid).toBe(dpPid);
        expect(s.vms.map((v) => v.state)).toEqual(['running', 'running', 'running']);
        expect(s.ports.find((p) => p.id === 'a.eth0')!.queues.length).toBe(2);

        const v = await vtopo('verify', file, '--json');
        expect(v.code, v.stdout + v.stderr).toBe(0);
        expect((JSON.parse(v.stdout) as Pairs).pairs).toHaveLength(6);
        expect((await json<{ actions: unknown[] }>('plan', file)).actions).toEqual([]);
    }, 300_000);

    it('a guest killed -9 shows as crashed, and verify fails for its pairs', async () => {
        const c = (await status()).vms.find((v) => v.name === 'c')!;
        process.kill(c.pid!, 'SIGKILL');
        let state = '';
        for (let i = 0; i < 40 && state !== 'crashed'; i++) {
            await sleep(250);
            state = (await status()).vms.find((v) => v.name === 'c')!.state;
        }
        expect(state).toBe('crashed');
        const s = await status();
        expect(s.ports.find((p) => p.id === 'c.eth0')!.link).toBe('down');
        const v = await vtopo('verify', file, '--json');
        expect(v.code).toBe(1);
        const pairs = (JSON.parse(v.stdout) as Pairs).pairs;
        expect(pairs.filter((p) => !p.ok).map((p) => `${p.from}>${p.to}`).sort()).toEqual(['a>c', 'b>c', 'c>a', 'c>b']);
    }, 90_000);

    it('destroy after the datapath is killed -9 leaves no process, socket, tap or mount', async () => {
        const s = await status();
        const pids = [...s.vms.map((v) => v.pid), s.datapaths[0].pid].filter((p): p is number => !!p);
        const dp = s.datapaths[0].pid;
        expect(dp).toBeGreaterThan(1);
        process.kill(dp!, 'SIGKILL');
        await sleep(300);
        const d = await vtopo('destroy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(leftovers(runDir)).toEqual([]);
        for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
        const after = await status();
        expect(after.deployed).toBe(false);
    }, 120_000);
});
