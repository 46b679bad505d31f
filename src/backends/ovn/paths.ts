/** Where the fabric's daemons, sockets and links live: every name derives from the plan alone. */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { FabricHostPlan, FabricPlan, OvnCentralPlan, Plan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
export const NB_DB = 'OVN_Northbound';
export const SB_DB = 'OVN_Southbound';
export { TOPOLOGY_KEY, UNDERLAY_BRIDGE } from '../../core/fabric.js';
/** Name of the host's end of its underlay veth, inside the host's namespace. */
export const HOST_VETH = 'vtopo-underlay';
export const UNDERLAY_LINUX_BRIDGE = 'br-underlay';
export const SB_PORT = 6642;

export type PrivateCentral = Extract<OvnCentralPlan, { kind: 'private' }>;

export interface CentralPaths {
    dir: string;
    nbDb: string;
    sbDb: string;
    nbSocket: string;
    sbSocket: string;
    nbPid: string;
    sbPid: string;
    northdPid: string;
    nbCtl: string;
    sbCtl: string;
    northdCtl: string;
    nbLog: string;
    sbLog: string;
    northdLog: string;
    startLog: string;
    /** Present in argv of the three daemons (their db or socket paths). */
    marker: string;
}

export function centralPaths(c: PrivateCentral): CentralPaths {
    const f = (n: string) => path.join(c.dir, n);
    return {
        dir: c.dir,
        nbDb: f('nb.db'),
        sbDb: f('sb.db'),
        nbSocket: c.nbSocket,
        sbSocket: c.sbSocket,
        nbPid: f('ovsdb-nb.pid'),
        sbPid: f('ovsdb-sb.pid'),
        northdPid: f('ovn-northd.pid'),
        nbCtl: f('ovsdb-nb.ctl'),
        sbCtl: f('ovsdb-sb.ctl'),
        northdCtl: f('ovn-northd.ctl'),
        nbLog: f('ovsdb-nb.log'),
        sbLog: f('ovsdb-sb.log'),
        northdLog: f('ovn-northd.log'),
        startLog: f('daemons.out'),
        marker: c.dir,
    };
}

/** `tcp:1.2.3.4:6642` → `1.2.3.4`. */
export function remoteAddress(remote: string): string {
    const m = /^tcp:(.+):(\d+)$/.exec(remote);
    if (!m) throw new VtopoError(`the OVN Southbound remote ${remote} is not tcp:ADDRESS:PORT`, 'let the plan derive it from the central host\'s underlay address');
    return m[1];
}

export function sbPort(remote: string): number {
    return Number(/:(\d+)$/.exec(remote)?.[1] ?? SB_PORT);
}

/** `172.31.0.2/24` → `172.31.0.2`. */
export function addressOf(cidr: string): string {
    return cidr.split('/')[0];
}

export function safeName(s: string): string {
    return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The network namespace of a host's OvS and ovn-controller. A netns host has
 * its own; the local host's OvS lives where the single-host OvS backend puts
 * it, in the topology's private namespace (the netdev datapath's taps would
 * clash with anything else in the root namespace, shared/notes/ovs-dpdk.md),
 * so the local host's underlay endpoint sits there too.
 */
export function hostNetns(topology: string, h: FabricHostPlan): string {
    // A host on its own uplink runs OvS where that interface is: where vtopo runs ('' = no namespace).
    if (h.uplink) return '';
    if (h.kind === 'netns') {
        if (!h.netns) throw new VtopoError(`host ${h.name} is a netns host without a namespace name in its plan`, 're-run `vtopo deploy` so the plan is rebuilt');
        return h.netns;
    }
    return h.netns ?? `vtopo-${safeName(topology)}`;
}

export function underlayNetns(topology: string, f: FabricPlan): string {
    return f.underlayNetns ?? `vtopo-${safeName(topology)}-ul`;
}

/** The underlay namespace's end of a host's veth: the host name when it fits IFNAMSIZ, else a hash of it. */
export function underlayPeerName(h: FabricHostPlan): string {
    const n = `u-${h.name}`;
    return n.length <= 15 && /^[A-Za-z0-9_.-]+$/.test(h.name) ? n : `u-${hash(h.name).slice(0, 12)}`;
}

/** A fixed locally administered MAC for a host's br-phy (OvS would otherwise pick the veth's, which changes on rebuild). */
export function underlayMac(topology: string, h: FabricHostPlan): string {
    const b = hash(`${topology}/${h.name}`).slice(0, 10).match(/../g)!;
    return ['02', ...b].join(':');
}

function hash(s: string): string {
    return createHash('sha256').update(s).digest('hex');
}

export function ovnControllerMarker(h: FabricHostPlan): string {
    return h.ovs.dbSocket;
}

/**
 * The Plan the OvS backend's private instance needs to run this host's own
 * OvS-DPDK (its database, vswitchd in the host's namespace, DPDK without
 * hugepages). The lead's per-host deploy can hand the same Plan, with the
 * host's bridges and VMs, to the OvS backend for the vhost-user ports.
 */
export function hostOvsPlan(topology: string, h: FabricHostPlan): Plan {
    return {
        version: 1,
        topology,
        sourceFile: '',
        runDir: h.ovs.runDir,
        host: { cores: [], memoryBytes: 0, pollCores: h.ovs.pollCores ?? [] },
        datapaths: {
            ovs: {
                mode: 'private',
                dbSocket: h.ovs.dbSocket,
                runDir: h.ovs.runDir,
                netns: hostNetns(topology, h),
                filePrefix: h.ovs.filePrefix ?? `vtopo-${safeName(topology)}-${safeName(h.name)}`,
                noHuge: true,
            },
        },
        bridges: [],
        links: [],
        nics: [],
        vms: [],
        notes: [],
    };
}

/**
 * What this machine cannot run of a host it runs: an ssh host (or any host
 * run here by `--host`) must name the interface its underlay address is on,
 * and a netns host's underlay is always vtopo's own veth.
 */
export function checkSupported(h: FabricHostPlan): void {
    if (h.kind === 'ssh' && !h.uplink) {
        throw new VtopoError(`host ${h.name} is an ssh host without an uplink: vtopo cannot tell which of its interfaces carries the underlay ${h.underlay}`,
            `add \`uplink af_packet "IFACE"\` to host ${h.name}, naming the interface that has ${h.underlay.split('/')[0]}`, 'uplink-missing');
    }
    if (h.kind === 'netns' && h.uplink) {
        throw new VtopoError(`host ${h.name} is simulated in a namespace but names uplink ${h.uplink.iface}`,
            'leave out `uplink`: vtopo builds a simulated host\'s underlay from veths', 'unsupported');
    }
}
