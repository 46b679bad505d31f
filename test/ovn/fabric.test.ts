/**
 * The OVN fabric on real OVN 23.03 and real OvS-DPDK: two simulated hosts
 * (network namespaces), a private central on h1, Geneve between them. The
 * VIFs are OvS internal ports with an address in their host's namespace (no
 * guests): cheap, and the traffic still crosses the tunnel.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FabricHostPlan } from '../../src/core/plan.js';
import { centralState, ensureNb, ensureVif, fabricDown, fabricStatus, fabricUp, stopController } from '../../src/backends/ovn/index.js';
import { controllerPid } from '../../src/backends/ovn/hosts.js';
import { hostOvsPlan } from '../../src/backends/ovn/paths.js';
import { instanceState } from '../../src/backends/ovs/instance.js';
import { alive } from '../../src/host/procs.js';
import { logicalSwitch, router, testFabric } from '../support/fabric-plan.js';
import { until } from '../support/wait.js';

const tf = testFabric('of', 3);
const { topology, fabric } = tf;
const [h1, h2, h3] = fabric.hosts;
// h3 joins later: the router's second switch needs a namespace of its own (in h2's, the reply would leave by b's port).
fabric.hosts.pop();
const MAC = { a: '0a:00:00:00:00:01', b: '0a:00:00:00:00:02', c: '0a:00:00:00:00:03' };
fabric.switches = [logicalSwitch('ls0', [['a', 'h1', MAC.a, '10.0.0.1'], ['b', 'h2', MAC.b, '10.0.0.2']])];
const pids = new Set<number>();

function sh(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
}

function netns(h: FabricHostPlan): string {
    return h.netns!;
}

/** An internal port on br-int bound to LSP `<vm>.eth0`, with the plan's MAC and an address in the host's namespace. */
async function addVif(h: FabricHostPlan, vm: keyof typeof MAC, cidr: string, gateway?: string): Promise<void> {
    const name = `${vm}.eth0`;
    await ensureVif(h, { name, type: 'internal', ifaceId: name, mtuRequest: 1400 });
    await until(`tap ${name}`, () => spawnSync('ip', ['-n', netns(h), 'link', 'show', name]).status === 0, 10_000, 100);
    sh('ip', ['-n', netns(h), 'link', 'set', name, 'address', MAC[vm]]);
    sh('ip', ['-n', netns(h), 'addr', 'replace', cidr, 'dev', name]);
    sh('ip', ['-n', netns(h), 'link', 'set', name, 'up']);
    if (gateway) sh('ip', ['-n', netns(h), 'route', 'replace', 'default', 'via', gateway]);
}

function ping(from: FabricHostPlan, to: string): ReturnType<typeof spawnSync> {
    // The first echo may go while ARP and the tunnel's neighbour resolve (shared/notes/ovn-multihost.md).
    return spawnSync('ip', ['netns', 'exec', netns(from), 'busybox', 'ping', '-c', '4', '-i', '0.3', '-W', '2', to], { encoding: 'utf8', timeout: 20_000 });
}

async function remember(): Promise<void> {
    for (const h of fabric.hosts) {
        const s = await instanceState(hostOvsPlan(topology, h));
        for (const p of [s.ovsdbPid, s.vswitchdPid]) if (p) pids.add(p);
    }
    const cs = centralState(fabric);
    for (const p of [cs.nbPid, cs.sbPid, cs.northdPid]) if (p) pids.add(p);
    for (const h of fabric.hosts) {
        const p = controllerPid(h);
        if (p) pids.add(p);
    }
}

describe('OVN fabric: netns hosts', () => {
    beforeAll(async () => {
        for (const bin of ['ovn-northd', 'ovn-controller', 'ovsdb-server']) {
            expect(spawnSync('which', [bin]).status, `${bin} missing: apt-get install ovn-central ovn-host`).toBe(0);
        }
        await fabricUp(topology, fabric);
        await remember();
        await addVif(h1, 'a', '10.0.0.1/24', '10.0.0.254');
        await addVif(h2, 'b', '10.0.0.2/24');
        await ensureNb(topology, fabric);
    }, 180_000);

    afterAll(async () => {
        try {
            await fabricDown(topology, fabric);
        } finally {
            if (!process.env.KEEP) rmSync(tf.dir, { recursive: true, force: true });
        }
    }, 120_000);

    it('binds both ports, pings across the Geneve tunnel, and status shows chassis, tunnels and ports', async () => {
        await until('both LSPs up', async () => (await fabricStatus(fabric)).ports.every((p) => p.up), 20_000, 100);
        const r = ping(h1, '10.0.0.2');
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);

        const st = await fabricStatus(fabric);
        expect(st.central).toEqual({ kind: 'private', nb: true, sb: true, northd: true });
        for (const h of st.hosts) {
            expect(h).toMatchObject({ chassis_registered: true, controller: 'running', ovs: true });
            const peer = h.name === 'h1' ? 'h2' : 'h1';
            expect(h.tunnels.map((t) => [t.type, t.peer, t.link])).toContainEqual(['geneve', peer, 'up']);
        }
        expect(st.ports.map((p) => [p.name, p.up, p.chassis, p.on_planned_chassis])).toEqual([
            ['a.eth0', true, h1.chassis, true],
            ['b.eth0', true, h2.chassis, true],
        ]);
        // NB holds the plan, marked as ours.
        const ls = sh('ovn-nbctl', [`--db=unix:${nbSock()}`, '--bare', '--columns=name,external_ids', 'list', 'Logical_Switch']);
        expect(ls).toContain('ls0');
        expect(ls).toContain(`vtopo-topology=${topology}`);
    });

    it('adds a third host, and routes between two switches through a logical router across hosts', async () => {
        fabric.hosts.push(h3);
        fabric.switches.push(logicalSwitch('ls1', [['c', 'h3', MAC.c, '10.0.1.1']]));
        fabric.routers = [router('edge', [['ls0', '0a:00:00:00:01:00', '10.0.0.254/24'], ['ls1', '0a:00:00:00:01:01', '10.0.1.254/24']])];
        await fabricUp(topology, fabric);
        await remember();
        await addVif(h3, 'c', '10.0.1.1/24', '10.0.1.254');
        await ensureNb(topology, fabric);
        await until('all LSPs up', async () => (await fabricStatus(fabric)).ports.every((p) => p.up), 20_000, 100);
        const r = ping(h1, '10.0.1.1');
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
        // The router stays; a switch dropped from the plan leaves NB (its ports with it).
        fabric.switches = fabric.switches.filter((s) => s.name !== 'ls1');
        fabric.routers[0].ports = fabric.routers[0].ports.filter((p) => p.switch !== 'ls1');
        await ensureNb(topology, fabric);
        const lsps = sh('ovn-nbctl', [`--db=unix:${nbSock()}`, '--bare', '--columns=name', 'list', 'Logical_Switch_Port']).split(/\s+/).filter(Boolean).sort();
        expect(lsps).toEqual(['a.eth0', 'b.eth0', 'ls0-edge']);
    });

    it('leaves rows it does not own alone, and refuses a name another owner holds', async () => {
        sh('ovn-nbctl', [`--db=unix:${nbSock()}`, 'ls-add', 'theirs', '--', 'lsp-add', 'theirs', 'their-port']);
        await ensureNb(topology, fabric);
        const names = () => sh('ovn-nbctl', [`--db=unix:${nbSock()}`, '--bare', '--columns=name', 'list', 'Logical_Switch']).split(/\s+/).filter(Boolean).sort();
        expect(names()).toEqual(['ls0', 'theirs']);
        const clash = { ...fabric, switches: [...fabric.switches, logicalSwitch('theirs', [])] };
        await expect(ensureNb(topology, clash)).rejects.toThrow(/already has a logical switch for bridge named theirs/);
        expect(names()).toEqual(['ls0', 'theirs']);
        sh('ovn-nbctl', [`--db=unix:${nbSock()}`, 'ls-del', 'theirs']);
    });

    it('reports a killed ovn-controller, and the next fabricUp restarts it', async () => {
        const pid = controllerPid(h2)!;
        expect(pid).toBeGreaterThan(1);
        process.kill(pid, 'SIGKILL');
        await until('h2 controller stopped', async () => (await fabricStatus(fabric)).hosts.find((h) => h.name === 'h2')?.controller === 'stopped', 10_000, 100);
        const st = await fabricStatus(fabric);
        expect(st.hosts.find((h) => h.name === 'h1')?.controller).toBe('running');

        await fabricUp(topology, fabric);
        await remember();
        expect(controllerPid(h2)).not.toBe(pid);
        expect((await fabricStatus(fabric)).hosts.map((h) => h.controller)).toEqual(['running', 'running', 'running']);
        const r = ping(h1, '10.0.0.2');
        expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    }, 90_000);

    it('teardown leaves no chassis, process, namespace, veth or socket', async () => {
        for (const h of fabric.hosts) await stopController(fabric, h);
        const chassis = sh('ovn-sbctl', [`--db=unix:${(fabric.central as { sbSocket: string }).sbSocket}`, '--bare', '--columns=name', 'list', 'Chassis']);
        expect(chassis.trim()).toBe('');

        await fabricDown(topology, fabric);
        await until('our daemons gone', () => [...pids].every((p) => !alive(p)), 10_000, 100);
        const ns = sh('ip', ['netns', 'list']);
        expect(ns).not.toMatch(/vt-of-/);
        expect(sh('ip', ['-o', 'link', 'show'])).not.toMatch(/vtopo-underlay|u-h[123]/);
        const c = fabric.central as { nbSocket: string; sbSocket: string };
        for (const f of [c.nbSocket, c.sbSocket, ...fabric.hosts.map((h) => h.ovs.dbSocket)]) expect(existsSync(f), f).toBe(false);
        // DPDK's runtime directory of each host's OvS (its file prefix).
        for (const h of fabric.hosts) expect(existsSync(`/var/run/dpdk/${h.ovs.filePrefix}`), h.name).toBe(false);
    }, 90_000);
});

function nbSock(): string {
    return (fabric.central as { nbSocket: string }).nbSocket;
}
