/**
 * Faults on a live deployment (two TCG guests on the embedded datapath,
 * vhost client mode: QEMU serves the sockets, the switch reconnects):
 * the datapath killed -9, a guest killed -9, the CLI killed mid-deploy,
 * and a run directory that cannot be written. One deployment serves the
 * first two; test/e2e covers crash reporting and destroy after a kill.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRequest } from '../../src/backends/qemu/agent.js';
import { until } from '../support/wait.js';
import type { Plan } from '../../src/core/plan.js';
import { sleep } from '../../src/host/procs.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import type { DeployState } from '../../src/host/state.js';
import type { Status } from '../../src/core/status.js';
import { type CliResult, runVtopo } from '../runtime/cli-run.js';
import { leftovers, processesMentioning } from '../runtime/leaks.js';
import { tempDir } from '../support/wait.js';

const dir = tempDir('faults');
const runRoot = path.join(dir, 'run');
const runDir = path.join(runRoot, 'two_vms');
const file = path.join(dir, 'two-vms.vtopo');
// The two-VM example plus a bystander c: b↔c traffic must not notice a's crash.
writeFileSync(file, readFileSync('examples/two-vms.vtopo', 'utf8').replace(/\}\s*$/, `
  vm c {
    cpus 1
    memory 256M
    port eth0 { bridge br0  ip 10.0.0.3/24 }
  }
}
`));

function vtopo(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return runVtopo(runRoot, args, env);
}

async function status(): Promise<Status> {
    const r = await vtopo(['status', file, '--json']);
    return JSON.parse(r.stdout) as Status;
}

async function verifyOk(): Promise<void> {
    const v = await vtopo(['verify', file, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deployedPlan(): Plan {
    return (JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8')) as DeployState).deployed!;
}

const port = (s: Status, id: string) => s.ports.find((p) => p.id === id)!;
const vm = (s: Status, name: string) => s.vms.find((v) => v.name === name)!;

describe('faults on a live deployment', () => {
    beforeAll(async () => {
        const d = await vtopo(['deploy', file]);
        expect(d.code, d.stdout + d.stderr).toBe(0);
    }, 300_000);
    afterAll(async () => {
        await vtopo(['destroy', file]);
    }, 120_000);

    it('the datapath killed -9: status says so; deploy restarts it and the running guests reconnect', async () => {
        const before = await status();
        const dp = before.datapaths[0].pid!;
        const guests = before.vms.map((v) => v.pid);
        process.kill(dp, 'SIGKILL');
        const down = await until('status shows the datapath down', async () => { const s = await status(); return s.datapaths[0].running ? undefined : s; }, 20_000, 200);
        expect(down.datapaths[0].running).toBe(false);
        const d = await vtopo(['deploy', file]);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        const s = await until('ports back up', async () => {
            const x = await status();
            return ['a.eth0', 'b.eth0'].every((id) => port(x, id).link === 'up' && port(x, id).vhost === 'connected') ? x : undefined;
        }, 60_000, 500);
        expect(s.datapaths[0].running).toBe(true);
        expect(s.datapaths[0].pid).not.toBe(dp);
        // The guests were not restarted: the switch reconnected to their sockets.
        expect(s.vms.map((v) => v.pid)).toEqual(guests);
        await verifyOk();
    }, 180_000);

    it('a guest killed -9 mid-traffic: crashed with a reason, b↔c lose nothing; deploy restarts it and its port reconnects', async () => {
        const before = await status();
        const a = vm(before, 'a');
        const bPid = vm(before, 'b').pid;
        const c = deployedPlan().vms.find((v) => v.name === 'c')!;
        // Eight echoes c → b, one a second, with a's crash in the middle of them.
        const pings = agentRequest<{ received?: number; sent?: number }>(c, 'ping', ['10.0.0.2', 8, 14], 20_000);
        await sleep(2500);
        process.kill(a.pid!, 'SIGKILL');
        const crashed = await until('a crashed', async () => { const s = await status(); return vm(s, 'a').state === 'crashed' ? s : undefined; }, 20_000, 250);
        expect(vm(crashed, 'a').reason).toBeTruthy();
        expect(vm(crashed, 'b')).toMatchObject({ state: 'running', pid: bPid });
        expect(port(crashed, 'b.eth0').link).toBe('up');
        expect(port(crashed, 'b.eth0').vhost).not.toBe('failed');
        const bystanders = await pings;
        expect(bystanders, JSON.stringify(bystanders)).toMatchObject({ ok: true, received: 8, sent: 8 });
        const after = await status();
        for (const id of ['b.eth0', 'c.eth0']) expect(port(after, id).drops, id).toBe(port(before, id).drops);
        const d = await vtopo(['deploy', file]);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        const s = await until('a running and its port up', async () => {
            const x = await status();
            return vm(x, 'a').state === 'running' && port(x, 'a.eth0').link === 'up' ? x : undefined;
        }, 90_000, 500);
        expect(vm(s, 'a').pid).not.toBe(a.pid);
        expect(vm(s, 'b').pid).toBe(bPid);
        await verifyOk();
    }, 240_000);

    it('the CLI killed mid-deploy: destroy still removes everything', async () => {
        const d = await vtopo(['destroy', file]);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(leftovers(runDir)).toEqual([]);
        const [node, ...pre] = selfExecArgv();
        const cli = spawn(node, [...pre, 'deploy', file], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot }, stdio: 'ignore' });
        // Mid-deploy: once the datapath runs and before the guests are up.
        await until('deploy under way', () => existsSync(path.join(runDir, 'embedded', 'datapath.pid')) || cli.exitCode !== null, 120_000, 20);
        expect(cli.exitCode).toBeNull();
        process.kill(cli.pid!, 'SIGKILL');
        await until('the CLI gone', () => cli.exitCode !== null || cli.signalCode !== null, 5000, 20);
        const r = await vtopo(['destroy', file]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        await until('nothing left', () => leftovers(runDir).length === 0, 15_000, 200).catch(() => undefined);
        expect(leftovers(runDir)).toEqual([]);
    }, 240_000);
});

describe('a run directory that cannot be written', () => {
    const mnt = path.join(dir, 'ro');
    afterAll(() => {
        try { execFileSync('umount', [mnt], { stdio: 'ignore' }); } catch { /* not mounted */ }
    });

    it.each([
        ['read-only', 'ro,size=1m'],
        ['full', 'size=64k'],
    ])('%s: deploy fails with a clear error and leaves nothing running', async (what, opts) => {
        mkdirSync(mnt, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', `${opts},mode=0700`, 'vtopo-faults', mnt]);
        try {
            if (what === 'full') {
                // Fill it: writes beyond what is left fail with ENOSPC.
                spawnSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
            }
            const root = path.join(mnt, 'run');
            const r = await vtopo(['deploy', file], { VTOPO_RUN_ROOT: root });
            expect(r.code).not.toBe(0);
            // A sentence naming the cause and what to do, not a stack trace.
            expect(r.stderr + r.stdout).toMatch(/read-only|no space|ENOSPC|EROFS|cannot write|not writable/i);
            expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
            await sleep(500);
            expect(processesMentioning(root)).toEqual([]);
            // No partial state: a state.json naming a plan (deployed, or pending = a deploy
            // in progress) would make status/destroy believe something runs.
            const state = path.join(root, 'two_vms', 'state', 'state.json');
            if (existsSync(state)) {
                const s = JSON.parse(readFileSync(state, 'utf8')) as DeployState;
                expect(s.deployed, 'state.json keeps a deployed plan').toBeUndefined();
                expect(s.pending, 'state.json keeps a pending plan').toBeUndefined();
            }
            // …and nothing else either: no process, file, mount or directory of the topology.
            // The run root itself is shared by every topology (/run/vtopo): it may stay, empty.
            expect(leftovers(path.join(root, 'two_vms'))).toEqual([]);
            expect(leftovers(root).filter((l) => l !== `directory ${root}`)).toEqual([]);
            if (existsSync(root)) expect(readdirSync(root)).toEqual([]);
        } finally {
            execFileSync('umount', [mnt]);
        }
    }, 120_000);
});

