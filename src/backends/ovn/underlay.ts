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

/** Sets the host's tunnel endpoint address on its br-phy internal port (where OvS's userspace tunnels route from). */
export async function setEndpointAddress(hostNs: string, dev: string, cidr: string, mtu: number): Promise<void> {
    await ip(['-n', hostNs, 'addr', 'replace', cidr, 'dev', dev], `cannot set the underlay address ${cidr}`);
    await ip(['-n', hostNs, 'link', 'set', dev, 'mtu', String(mtu), 'up'], `cannot bring up ${dev}`);
}
