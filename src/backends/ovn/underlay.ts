/**
 * The underlay of simulated hosts: a linux bridge in a namespace of its own
 * and one veth pair per host, its host end inside that host's namespace.
 * A bridge rather than veth pairs between each two hosts because then any
 * number of hosts share one L2 segment (one subnet, as the checker demands),
 * each host has exactly one underlay port (br-phy's), and adding or
 * removing a host touches only its own pair.
 */
import type { FabricHostPlan, FabricPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { run } from '../ovs/exec.js';
import { HOST_VETH, underlayNetns, underlayPeerName, UNDERLAY_LINUX_BRIDGE } from './paths.js';

async function ip(args: string[], what: string): Promise<void> {
    const r = await run('ip', args);
    if (r.code !== 0) {
        throw new VtopoError(`${what}: ip ${args.join(' ')} failed: ${r.stderr.trim()}`,
            'run vtopo as root (simulated hosts need network namespaces and veths)');
    }
}

export async function netnsExists(name: string): Promise<boolean> {
    const r = await run('ip', ['netns', 'list']);
    return r.stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

export async function ensureNetns(name: string): Promise<void> {
    if (!(await netnsExists(name))) await ip(['netns', 'add', name], `cannot create network namespace ${name}`);
    await ip(['-n', name, 'link', 'set', 'lo', 'up'], `cannot bring up lo in ${name}`);
}

async function linkExists(netns: string, name: string): Promise<boolean> {
    return (await run('ip', ['-n', netns, 'link', 'show', 'dev', name])).code === 0;
}

export async function ensureUnderlay(topology: string, f: FabricPlan): Promise<void> {
    const ns = underlayNetns(topology, f);
    await ensureNetns(ns);
    if (!(await linkExists(ns, UNDERLAY_LINUX_BRIDGE))) {
        await ip(['-n', ns, 'link', 'add', UNDERLAY_LINUX_BRIDGE, 'mtu', String(f.underlayMtu), 'type', 'bridge'], 'cannot create the underlay bridge');
    }
    await ip(['-n', ns, 'link', 'set', UNDERLAY_LINUX_BRIDGE, 'mtu', String(f.underlayMtu), 'up'], 'cannot bring up the underlay bridge');
}

/** The host's veth into the underlay bridge (both ends at the underlay MTU). The host namespace must exist. */
export async function ensureHostLink(topology: string, f: FabricPlan, h: FabricHostPlan, hostNs: string): Promise<void> {
    const ns = underlayNetns(topology, f);
    const peer = underlayPeerName(h);
    const mtu = String(f.underlayMtu);
    if (!(await linkExists(hostNs, HOST_VETH))) {
        // A leftover underlay end whose host end is gone (its namespace was deleted) would block the name.
        if (await linkExists(ns, peer)) await run('ip', ['-n', ns, 'link', 'del', peer]);
        await ip(['link', 'add', HOST_VETH, 'netns', hostNs, 'mtu', mtu, 'type', 'veth', 'peer', 'name', peer, 'netns', ns, 'mtu', mtu],
            `cannot create the underlay veth of host ${h.name}`);
    }
    await ip(['-n', ns, 'link', 'set', peer, 'master', UNDERLAY_LINUX_BRIDGE, 'mtu', mtu, 'up'], `cannot attach host ${h.name} to the underlay`);
    await ip(['-n', hostNs, 'link', 'set', HOST_VETH, 'mtu', mtu, 'up'], `cannot bring up host ${h.name}'s underlay veth`);
}

/** Deletes the host's pair (its underlay end; the host end goes with it). */
export async function removeHostLink(topology: string, f: FabricPlan, h: FabricHostPlan): Promise<void> {
    const ns = underlayNetns(topology, f);
    if (await netnsExists(ns)) await run('ip', ['-n', ns, 'link', 'del', underlayPeerName(h)]);
}

/** Deleting the namespace deletes the bridge and every pair's underlay end, and with them the host ends. */
export async function removeUnderlay(topology: string, f: FabricPlan): Promise<void> {
    const ns = underlayNetns(topology, f);
    if (await netnsExists(ns)) await ip(['netns', 'del', ns], `cannot delete the underlay namespace ${ns}`);
}

/** `ip` arguments in namespace `ns`, or where we are for '' (a host on its own uplink). */
const within = (ns: string, args: string[]) => (ns ? ['-n', ns, ...args] : args);

/** Sets the host's tunnel endpoint address on its br-phy internal port (where OvS's userspace tunnels route from). */
export async function setEndpointAddress(hostNs: string, dev: string, cidr: string, mtu: number): Promise<void> {
    await ip(within(hostNs, ['addr', 'replace', cidr, 'dev', dev]), `cannot set the underlay address ${cidr}`);
    await ip(within(hostNs, ['link', 'set', dev, 'mtu', String(mtu), 'up']), `cannot bring up ${dev}`);
}

interface RouteRow { dst: string; gateway?: string; protocol?: string; scope?: string; metric?: number }

/** The routes through `dev` that the kernel did not make from an address (those come and go with it). */
async function ownRoutes(dev: string): Promise<RouteRow[]> {
    const r = await run('ip', ['-j', 'route', 'show', 'dev', dev]);
    if (r.code !== 0 || !r.stdout.trim()) return [];
    return (JSON.parse(r.stdout) as RouteRow[]).filter((x) => x.protocol !== 'kernel');
}

/**
 * Moves the underlay address (and the routes through it) from one device to
 * another: from the uplink onto br-phy when OvS takes the uplink over (its
 * userspace tunnels route from br-phy), and back before OvS lets it go, so
 * the machine keeps its address, and the SSH session we may be running in
 * keeps its peer, either way.
 */
export async function moveAddress(cidr: string, from: string, to: string, mtu?: number): Promise<void> {
    const routes = await ownRoutes(from);
    await ip(['addr', 'replace', cidr, 'dev', to], `cannot put the underlay address ${cidr} on ${to}`);
    // The address now answers from another MAC; peers that cached the old one would wait out their neighbour
    // entry's stale and probe states (longer than an ssh ConnectTimeout). With arp_notify the kernel sends a
    // gratuitous ARP as `to` comes up, so the peers switch at once: hence the down/up even when it was up.
    await run('sysctl', ['-q', '-w', `net.ipv4.conf.${to}.arp_notify=1`]);
    await run('ip', ['link', 'set', to, 'down']);
    await ip(['link', 'set', to, ...(mtu ? ['mtu', String(mtu)] : []), 'up'], `cannot bring up ${to}`);
    await run('ip', ['addr', 'del', cidr, 'dev', from]);
    for (const x of routes) {
        const args = ['route', 'replace', x.dst, ...(x.gateway ? ['via', x.gateway] : []), 'dev', to, ...(x.metric !== undefined ? ['metric', String(x.metric)] : [])];
        await ip(args, `cannot move the route to ${x.dst} onto ${to}`);
    }
}

/** Whether `dev` exists where we are. */
export async function deviceExists(dev: string): Promise<boolean> {
    return (await run('ip', ['link', 'show', 'dev', dev])).code === 0;
}
