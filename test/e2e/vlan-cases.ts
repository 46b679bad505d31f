/**
 * The VLAN cases with real guests, shared by the embedded (test/e2e/vlans.test.ts)
 * and OvS (test/ovs/vlans.test.ts) runs: examples/vlans.vtopo deployed once
 * through the CLI; verify expects a↔b (VLAN 10) to reach and c (VLAN 20, same
 * subnet) to be isolated from both; the trunk guest t adds eth0.10 through
 * its agent and reaches a and b over it, while c still reaches nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentPing, agentVlan } from '../../src/backends/qemu/agent.js';
import type { Plan } from '../../src/core/plan.js';
import type { Status } from '../../src/core/status.js';
import { runVtopo, runVtopoJson } from '../runtime/cli-run.js';
import { leftovers } from '../runtime/leaks.js';

type Pair = { from: string; to: string; ok: boolean; expect?: 'isolated'; error?: string };

export function vlanCases(opts: { datapath: 'embedded' | 'ovs'; prefix: string }): void {
    const dir = mkdtempSync(`/tmp/${opts.prefix}-`);
    const runRoot = path.join(dir, 'run');
    const runDir = path.join(runRoot, 'vlans');
    const file = path.join(dir, 'vlans.vtopo');
    let src = readFileSync('examples/vlans.vtopo', 'utf8');
    if (opts.datapath === 'ovs') src = src.replace('bridge br0 { datapath embedded }', 'bridge br0 { datapath ovs }').replace('poll-cores 1', 'hugepages 1280M\n    poll-cores 1');
    // t's untagged frames are VLAN 20 (native), its tagged ones 10 and 20.
    src = src.replace('port eth0 { bridge br0  trunk 10,20 }', 'port eth0 { bridge br0  trunk 10,20  native-vlan 20 }');
    expect(src).toContain('native-vlan 20');
    writeFileSync(file, src);
    const vtopo = (...args: string[]) => runVtopo(runRoot, args);
    let plan: Plan;
    const vm = (name: string) => plan.vms.find((v) => v.name === name)!;

    beforeAll(async () => {
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        plan = (JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8')) as { deployed: Plan }).deployed;
        expect(plan.bridges[0].datapath).toBe(opts.datapath);
    }, 400_000);

    afterAll(async () => {
        const d = await vtopo('destroy', file);
        rmSync(dir, { recursive: true, force: true });
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(leftovers(runDir)).toEqual([]);
    }, 180_000);

    it('verify: the VLAN 10 guests reach each other, the VLAN 20 guest is isolated from both (as expected, exit 0)', async () => {
        let v = await vtopo('verify', file, '--json');
        // OvS can take a few seconds after deploy to forward (see test/ovs/e2e.test.ts): one more try, as a user would.
        if (v.code !== 0 && opts.datapath === 'ovs') v = await vtopo('verify', file, '--json');
        expect(v.code, v.stdout + v.stderr).toBe(0);
        const pairs = (JSON.parse(v.stdout) as { pairs: Pair[] }).pairs;
        expect(pairs.map((p) => `${p.from}>${p.to}:${p.expect ?? 'reach'}:${p.ok}`).sort()).toEqual([
            'a>b:reach:true', 'a>c:isolated:true', 'b>a:reach:true', 'b>c:isolated:true', 'c>a:isolated:true', 'c>b:isolated:true',
        ]);
        const text = await vtopo('verify', file);
        expect(text.stdout).toMatch(/2 pairs reach each other; 4 pairs on different VLANs are isolated, as expected/);
    }, 180_000);

    it('the trunk guest reaches the VLAN 10 guests over eth0.10; the VLAN 20 guest reaches it on neither VLAN', async () => {
        const add = await agentVlan(vm('t'), 'eth0', 10, '10.0.10.4/24');
        expect(add, JSON.stringify(add)).toMatchObject({ ok: true, name: 'eth0.10' });
        for (const peer of ['10.0.10.1', '10.0.10.2']) {
            let r = await agentPing(vm('t'), peer, { count: 1, timeoutMs: 5000 });
            if (!r.ok) r = await agentPing(vm('t'), peer, { count: 3, timeoutMs: 10_000 });
            expect(r.ok, `t → ${peer}: ${r.error}`).toBe(true);
        }
        expect((await agentPing(vm('a'), '10.0.10.4', { count: 2, timeoutMs: 5000 })).ok).toBe(true);
        // c is on VLAN 20, which t's trunk carries, but t has no address there: the same subnet still reaches no one.
        expect((await agentPing(vm('c'), '10.0.10.4', { count: 2, timeoutMs: 3000 })).ok).toBe(false);
        expect((await agentPing(vm('c'), '10.0.10.1', { count: 2, timeoutMs: 3000 })).ok).toBe(false);
    }, 120_000);

    it('native-vlan 20: the trunk guest\'s untagged eth0 reaches the VLAN 20 guest, not the VLAN 10 ones', async () => {
        const sh = async (name: string, ...argv: string[]) => {
            const r = await vtopo('exec', file, name, '--', ...argv);
            return { ok: r.code === 0, out: r.stdout + r.stderr };
        };
        // A second subnet, so t's untagged address does not overlap eth0.10's.
        for (const [name, addr] of [['t', '10.0.20.4/24'], ['c', '10.0.20.3/24'], ['a', '10.0.20.1/24']]) {
            const r = await sh(name, 'ip', 'addr', 'add', addr, 'dev', 'eth0');
            expect(r.ok, `${name}: ${r.out}`).toBe(true);
        }
        let toC = await sh('t', 'ping', '-c', '2', '-W', '3', '10.0.20.3');
        if (!toC.ok) toC = await sh('t', 'ping', '-c', '3', '-W', '5', '10.0.20.3');
        expect(toC.ok, toC.out).toBe(true);
        expect((await sh('t', 'ping', '-c', '2', '-W', '2', '10.0.20.1')).ok).toBe(false);
        expect((await sh('c', 'ping', '-c', '2', '-W', '2', '10.0.20.1')).ok).toBe(false);
    }, 120_000);

    if (opts.datapath === 'embedded') {
        it('the embedded bridge drops, and counts on the trunk port, frames of a VLAN the trunk does not carry', async () => {
            const add = await agentVlan(vm('t'), 'eth0', 30, '10.0.30.4/24');
            expect(add.ok, JSON.stringify(add)).toBe(true);
            // Its ARP requests go out tagged 30: the trunk carries 10 and 20 only.
            expect((await agentPing(vm('t'), '10.0.30.1', { count: 2, timeoutMs: 3000 })).ok).toBe(false);
            const s = await runVtopoJson<Status>(runRoot, ['status', file]);
            const t = s.ports.find((p) => p.id === 't.eth0')!;
            expect(t.drops_by_reason?.['vlan-not-allowed'] ?? 0, JSON.stringify(t)).toBeGreaterThan(0);
            expect(s.ports.find((p) => p.id === 'a.eth0')!.drops_by_reason?.['vlan-tagged'] ?? 0).toBe(0);
        }, 60_000);
    }
}
