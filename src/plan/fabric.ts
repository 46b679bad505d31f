/**
 * The multi-host part of a plan (issue 20): a file with a `fabric` block
 * becomes per-host OvS-DPDK instances and ovn-controllers, a private or an
 * existing OVN central, and the logical topology OVN carries (one logical
 * switch per bridge, one logical router per `router`). PURE, like the rest
 * of src/plan: every name derives from the file and the run directory.
 */
import * as path from 'node:path';
import type { Bridge, Fabric, Host, Router, Topology, Vm } from '../language/generated/ast.js';
import { bridgeDatapath, bridgeMtu, hostCores, hostPollCores, isLocalHost, vmHost } from '../language/defaults.js';
import { prop } from '../language/props.js';
import { VtopoError } from '../core/api.js';
import type { FabricHostPlan, FabricPlan, LogicalRouterPlan, LogicalSwitchPlan, OvnCentralPlan, VmPlan } from '../core/plan.js';
import { deriveInstanceName, deriveMac, hashHex } from './derive.js';

/** Where a fabric host keeps its OvS and ovn-controller, under the topology's run directory. */
export function fabricHostDir(runDir: string, host: string): string {
    return path.join(runDir, 'hosts', host);
}

/** The OVN Southbound's port on the central host's underlay address. */
export const SB_TCP_PORT = 6642;
/** Without `underlay-mtu`: what an ordinary Ethernet underlay carries (the checker assumes the same). */
export const DEFAULT_UNDERLAY_MTU = 1500;

export function fabricOf(t: Topology): Fabric | undefined {
    return t.elements.find((e): e is Fabric => e.$type === 'Fabric');
}

/** A namespace name from the topology and a part: readable when short, hashed when long (ip-netns has no limit, but people read them). */
function namespaceName(topology: string, part: string): string {
    const clean = `${topology}-${part}`.replace(/[^A-Za-z0-9_-]/g, '_');
    return clean.length <= 24 ? `vtopo-${clean}` : `vtopo-${clean.slice(0, 16)}-${hashHex(`${topology}/${part}`).slice(0, 6)}`;
}

const address = (cidr: string) => cidr.split('/')[0];

function hostPlan(topology: string, runDir: string, h: Host & { name: string }, vms: Vm[]): FabricHostPlan {
    const dir = fabricHostDir(runDir, h.name);
    const kind: FabricHostPlan['kind'] = isLocalHost(h) ? 'local' : prop(h, 'ssh') !== undefined ? 'ssh' : 'netns';
    const underlay = prop(h, 'underlay');
    if (!underlay) {
        throw new VtopoError(`host ${h.name} has no underlay address`, `add \`underlay ADDRESS/PREFIX\` to host ${h.name} (its tunnel endpoint)`, 'underlay-invalid');
    }
    const uplink = prop(h, 'uplink');
    const pollCores = hostPollCores(h);
    return {
        name: h.name,
        kind,
        ...(kind === 'ssh' ? { ssh: prop(h, 'ssh') } : {}),
        // The local host's OvS lives where the single-host OvS would: the topology's private namespace.
        netns: kind === 'local' ? deriveInstanceName(topology) : namespaceName(topology, h.name),
        underlay,
        ...(uplink ? { uplink: { kind: 'af_packet' as const, iface: uplink.iface } } : {}),
        chassis: `${topology}-${h.name}`,
        ovs: {
            runDir: dir,
            dbSocket: path.join(dir, 'db.sock'),
            integrationBridge: 'br-int',
            filePrefix: namespaceName(topology, h.name),
            ...(pollCores.length ? { pollCores } : {}),
        },
        controller: { pidFile: path.join(dir, 'ovn-controller.pid'), logFile: path.join(dir, 'ovn-controller.log') },
        vms: vms.filter((v) => vmHost(v) === h).map((v) => v.name),
    };
}

function centralPlan(runDir: string, fabric: Fabric, hosts: FabricHostPlan[]): OvnCentralPlan {
    const nb = prop(fabric, 'ovnNb');
    const sb = prop(fabric, 'ovnSb');
    if (nb !== undefined) return { kind: 'external', nb, ...(sb !== undefined ? { sb } : {}) };
    const name = prop(fabric, 'central')?.ref?.name;
    const central = hosts.find((h) => h.name === name);
    if (!central) {
        throw new VtopoError('the fabric names no central host and no existing OVN', 'add `central HOST` (vtopo runs OVN there) or `ovn-nb "tcp:ADDRESS:6641"` to the fabric block', 'fabric-central-unknown');
    }
    const dir = path.join(runDir, 'ovn');
    return { kind: 'private', host: central.name, dir, nbSocket: path.join(dir, 'nb.sock'), sbSocket: path.join(dir, 'sb.sock'), sbRemote: `tcp:${address(central.underlay)}:${SB_TCP_PORT}` };
}

function switchesOf(bridges: Bridge[], vms: VmPlan[]): LogicalSwitchPlan[] {
    return bridges.map((b) => ({
        name: b.name,
        mtu: bridgeMtu(b),
        ports: vms.flatMap((v) => v.ports.filter((p) => p.bridge === b.name).map((p) => ({
            name: p.id, vm: v.name, host: v.host!, addresses: p.ip ? `${p.mac} ${address(p.ip)}` : p.mac,
            ...(p.ip ? { ip: p.ip } : {}), ...(p.gateway ? { gateway: p.gateway } : {}),
        }))),
    }));
}

function routerOf(topology: string, r: Router): LogicalRouterPlan {
    return {
        name: r.name,
        ports: r.ports.map((p) => {
            const sw = p.bridge.ref?.name ?? p.bridge.$refText;
            return { name: `${r.name}-${sw}`, switch: sw, mac: deriveMac(topology, `router:${r.name}`, sw), network: p.network };
        }),
        routes: r.routes.map((x) => ({ prefix: x.prefix, nexthop: address(x.nexthop) })),
    };
}

/**
 * The parts a fabric plan cannot carry yet; the checker reports the same
 * (rule `fabric-part-unsupported`), so a file that checks clean plans.
 */
export function fabricUnsupported(t: Topology): { node: Bridge | Topology['elements'][number]; message: string }[] {
    const out: { node: Bridge | Topology['elements'][number]; message: string }[] = [];
    for (const e of t.elements) {
        if (e.$type === 'Bridge' && bridgeDatapath(e as Bridge) !== 'ovs') {
            out.push({ node: e, message: `bridge ${(e as Bridge).name}: under a fabric every bridge is an OVN logical switch, which OvS carries; add \`datapath ovs\`` });
        }
        if (e.$type === 'Vm') {
            for (const p of (e as Vm).ports) {
                if (p.impair?.length || prop(p, 'vlan') !== undefined || prop(p, 'trunk') !== undefined || prop(p, 'nativeVlan') !== undefined) {
                    out.push({ node: e, message: `port ${(e as Vm).name}.${p.name}: an impair block or VLAN settings on a port under a fabric are not supported yet; remove them` });
                }
            }
        }
        if (e.$type === 'Nic') out.push({ node: e, message: 'a nic under a fabric is not supported yet: OVN reaches the outside through a gateway router, which vtopo does not set up yet; leave the nic out' });
    }
    return out;
}

/** Plan.fabric and each VM's host, for a topology with a `fabric` block. */
export function compileFabric(topology: Topology, runDir: string, vms: VmPlan[], vmsAst: Vm[], scope?: string): FabricPlan {
    const fabric = fabricOf(topology)!;
    const problem = fabricUnsupported(topology)[0];
    if (problem) throw new VtopoError(problem.message, 'change the file as the sentence says (`vtopo check` shows it on its line)', 'fabric-part-unsupported');
    const named = topology.elements.filter((e): e is Host & { name: string } => e.$type === 'Host' && !!(e as Host).name);
    const hosts = named.map((h) => hostPlan(topology.name, runDir, h, vmsAst));
    for (const [i, v] of vmsAst.entries()) {
        const h = vmHost(v);
        if (!h?.name) throw new VtopoError(`vm ${v.name} runs on no named host`, `add \`host NAME\` to vm ${v.name}`, 'vm-host-unknown');
        vms[i].host = h.name;
    }
    const bridges = topology.elements.filter((e): e is Bridge => e.$type === 'Bridge');
    return {
        engine: 'ovn',
        encap: (prop(fabric, 'encap') ?? 'geneve') as FabricPlan['encap'],
        underlayMtu: prop(fabric, 'underlayMtu') ?? DEFAULT_UNDERLAY_MTU,
        central: centralPlan(runDir, fabric, hosts),
        hosts,
        switches: switchesOf(bridges, vms),
        routers: topology.elements.filter((e): e is Router => e.$type === 'Router').map((r) => routerOf(topology.name, r)),
        underlayNetns: namespaceName(topology.name, 'ul'),
        here: scope ? [scope] : hosts.filter((h) => h.kind !== 'ssh').map((h) => h.name),
        ...(scope ? { scope } : {}),
    };
}

/** The cores that serve a VM's queues: its host's `poll-cores`, else its `cores`, else this machine's. */
export function fabricServingCores(vm: Vm, fallback: number[]): number[] {
    const h = vmHost(vm);
    const poll = hostPollCores(h);
    return poll.length ? poll : hostCores(h) ?? fallback;
}
