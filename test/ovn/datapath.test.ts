/**
 * The `ovs` backend on a fabric plan (plan.datapaths.ovs.mode 'fabric'),
 * through the registry's per-plan choice, on real OVN and OvS-DPDK: this
 * machine (h1) and a netns host (h2). The VM ports are vhost-user clients
 * with no QEMU behind them: enough for inventory, binding and status;
 * guests and pings are test/ovn/multi-host.test.ts's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendFor } from '../../src/backends/registry.js';
import type { DatapathBackend } from '../../src/backends/types.js';
import { centralState } from '../../src/backends/ovn/central.js';
import { controllerPid } from '../../src/backends/ovn/hosts.js';
import { hostOvsPlan } from '../../src/backends/ovn/paths.js';
import { instanceState } from '../../src/backends/ovs/instance.js';
import { alive } from '../../src/host/procs.js';
import { testFabric, testFabricPlan } from '../support/fabric-plan.js';
import { run } from '../support/run.js';
import { until } from '../support/wait.js';

const tf = testFabric('od', 2, 78);
const plan = testFabricPlan(tf, [['a', 'h1', 'ls0', '10.0.0.1/24'], ['b', 'h2', 'ls0', '10.0.0.2/24']]);
const f = plan.fabric!;
const [h1, h2] = f.hosts;
const port = (id: string) => plan.vms.flatMap((v) => v.ports).find((p) => p.id === id)!;
const pids = new Set<number>();
let be: DatapathBackend;

async function remember(): Promise<void> {
    for (const h of f.hosts) {
        const s = await instanceState(hostOvsPlan(plan.topology, h));
        for (const p of [s.ovsdbPid, s.vswitchdPid, controllerPid(h)]) if (p) pids.add(p);
    }
    const cs = centralState(f);
    for (const p of [cs.nbPid, cs.sbPid, cs.northdPid]) if (p) pids.add(p);
}

describe('fabric datapath: the ovs backend of a plan across hosts', () => {
    beforeAll(async () => {
        be = await backendFor('ovs');
        expect(await be.running(plan)).toBe(false);
        await be.start(plan);
        await remember();
    }, 180_000);

    afterAll(async () => {
        try {
            await be.stop(plan);
        } finally {
            if (!process.env.KEEP) rmSync(tf.dir, { recursive: true, force: true });
        }
    }, 120_000);

    it('runs, and inventories logical switches and VIFs as bridges and VM ports', async () => {
        expect(await be.running(plan)).toBe(true);
        await be.addBridge(plan, plan.bridges[0]);
        await be.addVmPort(plan, port('a.eth0'));
        await be.addVmPort(plan, port('b.eth0'));
        // Idempotent: a second add changes nothing.
        await be.addVmPort(plan, port('b.eth0'));
        expect(await be.inventory(plan)).toEqual({ bridges: ['ls0'], links: [], vmPorts: ['a.eth0', 'b.eth0'], nics: [] });
        // Each VIF is on its own host's integration bridge, a vhost-user client of the plan's socket.
        const r = await run('ovs-vsctl', [`--db=unix:${h2.ovs.dbSocket}`, '--bare', '--columns=name,type,options,external_ids', 'find', 'Interface', 'external_ids:iface-id=b.eth0']);
        expect(r.stdout).toContain('dpdkvhostuserclient');
        expect(r.stdout).toContain(port('b.eth0').socketPath);
    }, 60_000);

    it('snapshots ports, hosts, chassis, tunnels and bindings', async () => {
        await until('both ports bound', async () => (await be.snapshot(plan)).fabric!.ports.every((p) => p.chassis), 30_000, 200);
        const s = await be.snapshot(plan);
        expect(s.datapath).toMatchObject({ kind: 'ovs', running: true, mode: 'fabric' });
        expect(s.ports.map((p) => [p.id, p.bridge, p.vhost])).toEqual([['a.eth0', 'ls0', 'connecting'], ['b.eth0', 'ls0', 'connecting']]);
        expect(s.fabric!.hosts.map((h) => [h.name, h.chassis_registered, h.controller, h.ovs])).toEqual([['h1', true, 'running', true], ['h2', true, 'running', true]]);
        expect(s.fabric!.hosts[0].tunnels.map((t) => t.peer)).toEqual(['h2']);
        expect(s.fabric!.ports.map((p) => [p.name, p.chassis, p.on_planned_chassis])).toEqual([['a.eth0', h1.chassis, true], ['b.eth0', h2.chassis, true]]);
    }, 60_000);

    it('pushes each host\'s port events', async () => {
        const seen = new Set<string>();
        const sub = await be.subscribe!(plan, (e) => { if (e.kind === 'added') seen.add(e.id); });
        try {
            await until('added events from both hosts', () => seen.has('a.eth0') && seen.has('b.eth0'), 10_000, 50);
        } finally {
            sub.close();
        }
    }, 30_000);

    it('a dead ovn-controller makes it not running, describe names it, start brings it back', async () => {
        const pid = controllerPid(h2)!;
        process.kill(pid, 'SIGKILL');
        await until('h2 controller gone', () => !controllerPid(h2), 10_000, 100);
        expect(await be.running(plan)).toBe(false);
        const d = (await be.describe!(plan))!;
        expect(d.datapath.running).toBe(false);
        expect(d.datapath.error).toContain('host h2: ovn-controller is not running');
        expect(d.warnings?.map((w) => w.message)).toContainEqual(expect.stringContaining('host h2: ovn-controller is not running'));
        await be.start(plan);
        await remember();
        expect(await be.running(plan)).toBe(true);
        expect((await be.inventory(plan)).vmPorts).toEqual(['a.eth0', 'b.eth0']);
    }, 120_000);

    it('a router or route changed alone makes its switch out of date; add-bridge rewrites the Northbound', async () => {
        const nb = (...a: string[]) => run('ovn-nbctl', [`--db=unix:${(f.central as { nbSocket: string }).nbSocket}`, ...a]);
        const routed = { ...plan, fabric: { ...f, routers: [{ name: 'r', ports: [{ name: 'r-ls0', switch: 'ls0', mac: '0a:00:00:00:01:00', network: '10.0.0.254/24' }], routes: [{ prefix: '0.0.0.0/0', nexthop: '10.0.0.9' }] }] } };
        expect((await be.inventory(routed)).bridges).toEqual([]);
        await be.addBridge(routed, routed.bridges[0]);
        expect((await be.inventory(routed)).bridges).toEqual(['ls0']);
        expect((await nb('lr-route-list', 'r')).stdout).toContain('10.0.0.9');
        // Back to no router: out of date again, and the rewrite removes the router.
        expect((await be.inventory(plan)).bridges).toEqual([]);
        await be.addBridge(plan, plan.bridges[0]);
        expect((await be.inventory(plan)).bridges).toEqual(['ls0']);
        expect((await nb('lr-list')).stdout.trim()).toBe('');
        expect((await be.inventory(plan)).vmPorts).toEqual(['a.eth0', 'b.eth0']);
    }, 60_000);

    it('removes a VM port and a bridge', async () => {
        await be.removeVmPort(plan, 'b.eth0');
        expect((await be.inventory(plan)).vmPorts).toEqual(['a.eth0']);
        await be.removeBridge(plan, 'ls0');
        expect((await be.inventory(plan)).bridges).toEqual([]);
        await be.addBridge(plan, plan.bridges[0]);
        expect((await be.inventory(plan)).bridges).toEqual(['ls0']);
    }, 60_000);

    it('stop leaves no process, namespace, veth or socket, also of a host the plan no longer names', async () => {
        // The file dropped h2 (and b): its OvS and ovn-controller were started by an earlier plan.
        const later = { ...plan, vms: plan.vms.filter((v) => v.host === 'h1'), fabric: { ...f, hosts: [h1], switches: [{ ...f.switches[0], ports: f.switches[0].ports.filter((p) => p.host === 'h1') }] } };
        await be.stop(later);
        await until('our daemons gone', () => [...pids].every((p) => !alive(p)), 15_000, 100);
        expect(await be.running(plan)).toBe(false);
        const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
        expect(ns).not.toMatch(/vt-od-|vt-ovnod/);
        const c = f.central as { nbSocket: string; sbSocket: string };
        for (const s of [c.nbSocket, c.sbSocket, ...f.hosts.map((h) => h.ovs.dbSocket)]) expect(existsSync(s), s).toBe(false);
        expect(existsSync(`${plan.runDir}/fabric-hosts`)).toBe(false);
        // Again: already gone is success.
        await be.stop(plan);
    }, 90_000);
});
