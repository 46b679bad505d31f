/** Hand-built FabricPlans for the OVN backends (the plan stage builds the real ones). */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import type { FabricHostPlan, FabricPlan, LogicalRouterPlan, LogicalSwitchPlan, Plan, VmPlan, VmPortPlan } from '../../src/core/plan.js';

export interface TestFabric {
    topology: string;
    dir: string;
    fabric: FabricPlan;
}

/**
 * `hosts` netns hosts h1..hN on 172.31.<subnet>.0/24 (short paths: unix
 * sockets are limited to 107 bytes), a private central on h1.
 */
export function testFabric(tag: string, hosts: number, subnet = 77): TestFabric {
    const topology = `ovn${tag}`;
    const dir = mkdtempSync(`/tmp/vt-${tag}-`);
    const hs: FabricHostPlan[] = Array.from({ length: hosts }, (_x, i) => {
        const name = `h${i + 1}`;
        const runDir = path.join(dir, name);
        return {
            name,
            kind: 'netns',
            netns: `vt-${tag}-${name}`,
            underlay: `172.31.${subnet}.${i + 1}/24`,
            chassis: `${topology}-${name}`,
            ovs: { runDir, dbSocket: path.join(runDir, 'db.sock'), integrationBridge: 'br-int', filePrefix: `vt-${tag}-${name}` },
            controller: { pidFile: path.join(runDir, 'ovn-controller.pid'), logFile: path.join(runDir, 'ovn-controller.log') },
            vms: [],
        };
    });
    const c = path.join(dir, 'central');
    return {
        topology,
        dir,
        fabric: {
            engine: 'ovn',
            encap: 'geneve',
            underlayMtu: 1600,
            central: { kind: 'private', host: 'h1', dir: c, nbSocket: path.join(c, 'nb.sock'), sbSocket: path.join(c, 'sb.sock'), sbRemote: `tcp:172.31.${subnet}.1:6642` },
            hosts: hs,
            switches: [],
            routers: [],
            underlayNetns: `vt-${tag}-ul`,
        },
    };
}

/** A switch with one port per [vm, host, mac, ip]. */
export function logicalSwitch(name: string, ports: [vm: string, host: string, mac: string, ip?: string][], mtu = 1400): LogicalSwitchPlan {
    return {
        name,
        mtu,
        ports: ports.map(([vm, host, mac, ip]) => ({ name: `${vm}.eth0`, vm, host, addresses: ip ? `${mac} ${ip}` : mac })),
    };
}

export function router(name: string, ports: [sw: string, mac: string, network: string][], routes: LogicalRouterPlan['routes'] = []): LogicalRouterPlan {
    return { name, ports: ports.map(([sw, mac, network]) => ({ name: `${name}-${sw}`, switch: sw, mac, network })), routes };
}

export interface HandHost {
    name: string;
    kind: FabricHostPlan['kind'];
    underlay: string;
    ssh?: string;
    uplink?: string;
    pollCores?: number[];
}

/**
 * A compiled one-host Plan made into a Plan across hosts as the plan stage
 * fills it (the plan contract in the helpers' brief): `placement` puts each
 * VM on a host (unnamed: the first, local host), every ovs bridge becomes a
 * logical switch with the VM ports on it. Stable paths, for goldens.
 */
export function acrossHosts(plan: Plan, hosts: HandHost[], placement: Record<string, string>, routers: LogicalRouterPlan[] = [],
    central: FabricPlan['central'] | string = hosts[0].name): Plan {
    const hostOf = (vm: string) => placement[vm] ?? hosts[0].name;
    const hs: FabricHostPlan[] = hosts.map((h) => {
        const runDir = path.join(plan.runDir, 'hosts', h.name);
        return {
            name: h.name,
            kind: h.kind,
            ...(h.ssh ? { ssh: h.ssh } : {}),
            ...(h.kind === 'ssh' ? {} : { netns: h.kind === 'netns' ? `vtopo-${plan.topology}-${h.name}` : plan.datapaths.ovs?.netns ?? `vtopo-${plan.topology}` }),
            underlay: h.underlay,
            ...(h.uplink ? { uplink: { kind: 'af_packet' as const, iface: h.uplink } } : {}),
            chassis: `${plan.topology}-${h.name}`,
            ovs: {
                runDir, dbSocket: path.join(runDir, 'db.sock'), integrationBridge: 'br-int', filePrefix: `vtopo-${plan.topology}-${h.name}`,
                ...(h.pollCores ? { pollCores: h.pollCores } : {}),
            },
            controller: { pidFile: path.join(runDir, 'ovn-controller.pid'), logFile: path.join(runDir, 'ovn-controller.log') },
            vms: plan.vms.filter((v) => hostOf(v.name) === h.name).map((v) => v.name),
        };
    });
    const dir = path.join(plan.runDir, 'ovn');
    const c = typeof central === 'string'
        ? { kind: 'private' as const, host: central, dir, nbSocket: path.join(dir, 'nb.sock'), sbSocket: path.join(dir, 'sb.sock'), sbRemote: `tcp:${hosts.find((h) => h.name === central)!.underlay.split('/')[0]}:6642` }
        : central;
    const switches: LogicalSwitchPlan[] = plan.bridges.map((b) => ({
        name: b.name,
        mtu: b.mtu,
        ports: plan.vms.flatMap((v) => v.ports.filter((p) => p.bridge === b.name).map((p) => ({
            name: p.id, vm: v.name, host: hostOf(v.name), addresses: p.ip ? `${p.mac} ${p.ip.split('/')[0]}` : p.mac,
        }))),
    }));
    return {
        ...plan,
        vms: plan.vms.map((v) => ({ ...v, host: hostOf(v.name) })),
        fabric: { engine: 'ovn', encap: 'geneve', underlayMtu: 1600, central: c, hosts: hs, switches, routers, underlayNetns: `vtopo-${plan.topology}-ul` },
    };
}

/**
 * Three VMs on three hosts (local h1 with the central and one PMD core, netns
 * h2, ssh h3 with an uplink), two switches joined by a router with two routes.
 */
export async function handFabricPlan(): Promise<Plan> {
    const r = await checkText(`topology xh {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge web { datapath ovs  mtu 1400 }
  bridge db { datapath ovs  mtu 1400 }
  vm a { memory 256M  port eth0 { bridge web  ip 10.0.1.1/24 } }
  vm b { memory 256M  port eth0 { bridge db  ip 10.0.2.1/24  vhost server } }
  vm c { memory 256M  port eth0 { bridge web } }
}
`);
    if (r.hasErrors || !r.model) throw new Error(`the hand fabric plan's file does not check: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    const one = compilePlan(topologyOf(r.model, '/src/xh.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/xh.vtopo', onlineCpus: [0, 1] });
    return acrossHosts(one, [
        { name: 'h1', kind: 'local', underlay: '172.31.0.1/24', pollCores: [1] },
        { name: 'h2', kind: 'netns', underlay: '172.31.0.2/24' },
        { name: 'h3', kind: 'ssh', ssh: 'root@192.0.2.3', underlay: '172.31.0.3/24', uplink: 'eth1' },
    ], { a: 'h2', b: 'h3', c: 'h1' }, [router('edge', [['web', '02:00:00:00:fe:01', '10.0.1.254/24'], ['db', '02:00:00:00:fe:02', '10.0.2.254/24']],
        [{ prefix: '0.0.0.0/0', nexthop: '10.0.2.1' }, { prefix: '192.168.0.0/16', nexthop: '10.0.1.1' }])]);
}
/** A guest of a hand-built fabric Plan: [vm, host, bridge, ip CIDR, gateway]. */
export type TestGuest = [vm: string, host: string, bridge: string, ip: string, gateway?: string];

/**
 * The whole Plan the plan stage makes for a fabric file (src/core/fabric.ts's
 * contract), by hand: h1 is this machine (kind local, in the topology's own
 * namespace), the others netns hosts; one logical switch per bridge with
 * the guests' ports, `routers` as given; TCG guests with client-mode
 * vhost-user sockets (QEMU serves them).
 */
export function testFabricPlan(tf: TestFabric, guests: TestGuest[], routers: LogicalRouterPlan[] = [], mtu = 1400): Plan {
    const f = tf.fabric;
    f.hosts[0] = { ...f.hosts[0], kind: 'local', netns: `vt-${tf.topology}` };
    const bridges = [...new Set(guests.map((g) => g[2]))];
    const mac = (i: number) => `52:54:00:7f:00:${(i + 1).toString(16).padStart(2, '0')}`;
    f.switches = bridges.map((b) => ({
        name: b, mtu,
        ports: guests.flatMap((g, i) => (g[2] === b ? [{ name: `${g[0]}.eth0`, vm: g[0], host: g[1], addresses: `${mac(i)} ${g[3].split('/')[0]}` }] : [])),
    }));
    f.routers = routers;
    for (const h of f.hosts) h.vms = guests.filter((g) => g[1] === h.name).map((g) => g[0]);
    const vms: VmPlan[] = guests.map(([name, host, bridge, ip, gateway], i) => {
        const d = path.join(tf.dir, 'vms', name);
        const port: VmPortPlan = {
            id: `${name}.eth0`, vm: name, name: 'eth0', bridge, datapath: 'ovs', mac: mac(i), ip, mtu, queues: 1,
            vhostMode: 'client', socketPath: path.join(d, 'eth0.sock'), mrgRxbuf: true, vectors: 0, queueCores: [],
            ...(gateway ? { gateway } : {}),
        };
        return {
            name, cpus: 1, memoryBytes: 256 * 1024 * 1024, accelRequested: 'tcg', accel: 'tcg', image: { kind: 'default' },
            memoryBackend: { kind: 'memfd' }, qmpSocket: path.join(d, 'qmp.sock'), agentSocket: path.join(d, 'agent.sock'),
            consoleSocket: path.join(d, 'console.sock'), serialLog: path.join(d, 'serial.log'), qemuLog: path.join(d, 'qemu.log'),
            pidFile: path.join(d, 'qemu.pid'), ports: [port], host,
        };
    });
    const local = f.hosts[0];
    return {
        version: 1,
        topology: tf.topology,
        sourceFile: path.join(tf.dir, `${tf.topology}.vtopo`),
        runDir: tf.dir,
        host: { cores: [0, 1], memoryBytes: 4 << 30, pollCores: [1] },
        datapaths: { ovs: { mode: 'fabric', dbSocket: local.ovs.dbSocket, runDir: path.join(tf.dir, 'ovs'), rxqPlacement: 'scheduler' } },
        bridges: bridges.map((name) => ({ name, datapath: 'ovs', mtu })),
        links: [],
        nics: [],
        vms,
        notes: [],
        fabric: f,
    };
}
