/**
 * End to end under TCG through the CLI: the two-VM example on `datapath
 * ovs` (a's port with 2 queues) deploys onto a private OvS-DPDK, verify
 * passes, status shows OvS counters and num_of_vrings, and destroy leaves
 * no process, namespace, DPDK runtime dir, tap or mount behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ovsPaths } from '../../src/backends/ovs/paths.js';
import type { Plan } from '../../src/core/plan.js';
import { sleep } from '../../src/host/procs.js';
import type { Status } from '../../src/core/status.js';
import { type CliResult, runVtopo } from '../runtime/cli-run.js';
import { leftovers } from '../runtime/leaks.js';

const dir = mkdtempSync('/tmp/vto-');
const runRoot = path.join(dir, 'run');
const runDir = path.join(runRoot, 'ovslab');
const file = path.join(dir, 'ovs.vtopo');
const source = readFileSync('examples/ovs.vtopo', 'utf8')
    .replace('port eth0 { bridge ovsbr0  ip 10.0.2.1/24', 'port eth0 { bridge ovsbr0  queues 2  ip 10.0.2.1/24');
writeFileSync(file, source);
let deployedPlan: Plan | undefined;

function vtopo(...args: string[]): Promise<CliResult> {
    return runVtopo(runRoot, args);
}

async function status(): Promise<Status> {
    const r = await vtopo('status', file, '--json');
    try {
        return JSON.parse(r.stdout) as Status;
    } catch {
        throw new Error(`vtopo status --json exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    }
}

function readDeployedPlan(): Plan | undefined {
    try {
        return (JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8')) as { deployed?: Plan }).deployed;
    } catch {
        return undefined;
    }
}

afterAll(async () => {
    await vtopo('destroy', file);
    rmSync(dir, { recursive: true, force: true });
}, 180_000);

describe('e2e: two VMs on OvS-DPDK under TCG', () => {
    it('deploys onto a private OvS and verify finds both pairs reachable', async () => {
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        deployedPlan = readDeployedPlan();
        expect(deployedPlan?.datapaths.ovs?.mode).toBe('private');
        let v = await vtopo('verify', file, '--json');
        if (v.code !== 0) {
            // Seen once in CI (1 of ~10 runs): no forwarding for 14 s right after deploy. Keep
            // OvS's view of it in the log, and give it one more verify, as a user would; a
            // datapath that does not forward at all still fails here.
            const ctl = ovsPaths(deployedPlan!).vswitchdCtl;
            const appctl = (...a: string[]) => spawnSync('ovs-appctl', ['-t', ctl, ...a], { encoding: 'utf8', timeout: 10_000 }).stdout;
            console.warn(`verify failed once:\n${v.stdout}\npmd-rxq-show:\n${appctl('dpif-netdev/pmd-rxq-show')}\nports:\n${JSON.stringify((await status()).ports)}`);
            await sleep(5000);
            v = await vtopo('verify', file, '--json');
        }
        expect(v.code, v.stdout + v.stderr).toBe(0);
        const pairs = (JSON.parse(v.stdout) as { pairs: { from: string; to: string; ok: boolean }[] }).pairs;
        expect(pairs.map((p) => `${p.from}>${p.to}:${p.ok}`).sort()).toEqual(['a>b:true', 'b>a:true']);
    }, 300_000);

    it('status shows the OvS datapath, ports up with OvS counters, and 4 vrings on the 2-queue port', async () => {
        let s = await status();
        expect(s.datapaths.find((d) => d.kind === 'ovs')).toMatchObject({ kind: 'ovs', running: true, mode: 'private' });
        // OvS refreshes Interface statistics every 5 s.
        for (let i = 0; i < 40 && !s.ports.every((p) => p.rx_packets > 0 && p.tx_packets > 0); i++) {
            await sleep(500);
            s = await status();
        }
        const a = s.ports.find((p) => p.id === 'a.eth0')!;
        const b = s.ports.find((p) => p.id === 'b.eth0')!;
        for (const p of [a, b]) {
            expect(p, JSON.stringify(s.ports)).toMatchObject({ datapath: 'ovs', bridge: 'ovsbr0', link: 'up', vhost: 'connected' });
            expect(p.rx_packets).toBeGreaterThan(0);
            expect(p.tx_packets).toBeGreaterThan(0);
        }
        expect(a.num_of_vrings).toBe(4);
        expect(b.num_of_vrings).toBe(2);
        expect(a.queues.map((q) => q.queue)).toEqual([0, 1]);
        // hugepages 1G: 512 x 2M reserved for this topology; each guest's RAM and OvS's mbuf pools are mapped from them, within their shares.
        const hp = s.hugepages?.find((b) => b.page_kb === 2048);
        expect(hp, JSON.stringify(s.hugepages)).toBeDefined();
        expect(hp!.reserved).toBeGreaterThan(0);
        expect(hp!.users.map((u) => `${u.kind}:${u.name}`).sort()).toEqual(['guest:a', 'guest:b', 'ovs:ovs']);
        for (const u of hp!.users) {
            expect(u.used_pages, u.name).toBeGreaterThan(0);
            expect(u.used_pages, u.name).toBeLessThanOrEqual(u.share_pages);
        }
        console.log(`hugepages 2M on OvS: ${JSON.stringify(hp)}`);
    }, 60_000);

    it('destroy leaves no process, namespace, DPDK runtime dir or mount', async () => {
        const ovs = deployedPlan?.datapaths.ovs;
        expect(ovs?.netns).toBeTruthy();
        const d = await vtopo('destroy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        const gave = /hugepages 2M: host (\d+) → (\d+) pages; gave back (\d+) of the (\d+) this topology took/.exec(d.stdout);
        expect(gave, d.stdout).not.toBeNull();
        expect(gave![3]).toBe(gave![4]);
        expect(Number(gave![1]) - Number(gave![2])).toBe(Number(gave![4]));
        expect(leftovers(runDir)).toEqual([]);
        const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]);
        expect(netns).not.toContain(ovs!.netns);
        expect(existsSync(`/var/run/dpdk/${ovs!.filePrefix}`)).toBe(false);
        expect(readdirSync('/var/run/dpdk').filter((f) => f === ovs!.filePrefix)).toEqual([]);
    }, 180_000);
});
