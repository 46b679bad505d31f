/**
 * What an absent property means. The checker, hovers and the plan compiler
 * must agree on these, so they live in one place: import them rather than
 * repeating literals.
 */
import type { Bridge, Host, Nic, Port, Topology, Vm } from './generated/ast.js';
import { parseCoreList } from './units.js';
import { prop } from './props.js';
import type { DatapathKind } from '../core/limits.js';

const MiB = 2 ** 20;

export const DEFAULTS = {
    vmCpus: 1,
    vmMemoryBytes: 256 * MiB,
    /** The default guest image (Debian kernel + busybox initramfs) does not boot in less. */
    defaultImageMinMemoryBytes: 128 * MiB,
    portQueues: 1,
    nicQueues: 1,
    bridgeMtu: 1500,
    datapath: 'embedded' as const,
    vhost: 'client' as const,
    /** QEMU's virtio-net enables mergeable rx buffers unless told otherwise. */
    mrgRxbuf: true,
    /** The layout every virtio driver speaks; packed needs virtio 1.1 on both sides. */
    ring: 'split' as const,
    hugepageSizeBytes: 2 * MiB,
    accel: 'auto' as const,
};

/** Host memory the datapath itself needs beside the guests. */
export const DATAPATH_RESERVE_BYTES = {
    /** OvS-DPDK: dpdk-socket-mem=128 (MB) of mbuf pools, from hugepages when present. */
    ovs: 128 * MiB,
    /** The embedded switch maps guest memory; its own heap is small and never from hugepages. */
    embedded: 0,
};

export function bridgeDatapath(b: Bridge | undefined): DatapathKind {
    return (prop(b, 'datapath') as DatapathKind | undefined) ?? DEFAULTS.datapath;
}
export function bridgeMtu(b: Bridge | undefined): number {
    return prop(b, 'mtu') ?? DEFAULTS.bridgeMtu;
}
export function vmCpus(vm: Vm): number {
    return prop(vm, 'cpus') ?? DEFAULTS.vmCpus;
}
export function vmMemory(vm: Vm): number {
    return prop(vm, 'memory') ?? DEFAULTS.vmMemoryBytes;
}
export function portQueues(p: Port): number {
    return prop(p, 'queues') ?? DEFAULTS.portQueues;
}
/** A port without `mtu` takes its bridge's MTU. */
export function portMtu(p: Port): number {
    return prop(p, 'mtu') ?? bridgeMtu(prop(p, 'bridge')?.ref);
}
export function portVhost(p: Port): 'client' | 'server' {
    return (prop(p, 'vhost') as 'client' | 'server' | undefined) ?? DEFAULTS.vhost;
}
export function portMrgRxbuf(p: Port): boolean {
    return prop(p, 'mrgRxbuf') === undefined ? DEFAULTS.mrgRxbuf : prop(p, 'mrgRxbuf') === 'on';
}
export function portRing(p: Port): 'split' | 'packed' {
    return (prop(p, 'ring') as 'split' | 'packed' | undefined) ?? DEFAULTS.ring;
}
export function nicQueues(n: Nic): number {
    return prop(n, 'queues') ?? DEFAULTS.nicQueues;
}
export function nicMtu(n: Nic): number {
    return prop(n, 'mtu') ?? bridgeMtu(prop(n, 'bridge')?.ref);
}

export interface HugepageInfo { pageSizeBytes: number; count: number; totalBytes: number }

/** `hugepages 512M` → 256 × 2M; `hugepages 4 x 1G` → 4 × 1G. */
export function hugepagesOf(host: Host | undefined): HugepageInfo | undefined {
    const h = prop(host, 'hugepages');
    if (!h) return undefined;
    if (h.count !== undefined && h.pageSize !== undefined) {
        return { pageSizeBytes: h.pageSize, count: h.count, totalBytes: h.count * h.pageSize };
    }
    const total = h.total ?? 0;
    const page = DEFAULTS.hugepageSizeBytes;
    return { pageSizeBytes: page, count: Math.floor(total / page), totalBytes: total };
}

/** A host with neither `netns` nor `ssh`: this machine. */
export function isLocalHost(h: Host): boolean {
    return prop(h, 'netns') === undefined && prop(h, 'ssh') === undefined;
}
/** This machine's host block: the first local one, else the first (a single-host file has one). */
export function hostOf(t: Topology): Host | undefined {
    const hosts = t.elements.filter((e): e is Host => e.$type === 'Host');
    return hosts.find(isLocalHost) ?? hosts[0];
}
/** The host a VM runs on: its `host`, else this machine. */
export function vmHost(vm: Vm): Host | undefined {
    return prop(vm, 'host')?.ref ?? hostOf(vm.$container);
}
export function hostCores(host: Host | undefined): number[] | undefined {
    const cores = prop(host, 'cores');
    return cores === undefined ? undefined : parseCoreList(cores);
}
export function hostPollCores(host: Host | undefined): number[] {
    const poll = prop(host, 'pollCores');
    return (poll === undefined ? undefined : parseCoreList(poll)) ?? [];
}
