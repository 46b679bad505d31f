/**
 * What each datapath accepts, in one place. The checker reports a value
 * outside these ranges on the line that declares it, the plan and both
 * datapaths refuse it with the same numbers: what checks clean deploys.
 * Imports nothing of ours.
 */

export type DatapathKind = 'embedded' | 'ovs';
export const DATAPATH_KINDS: readonly DatapathKind[] = ['embedded', 'ovs'];

/** How messages name a datapath. */
export const DATAPATH_NAME: Record<DatapathKind, string> = { embedded: 'the embedded datapath', ovs: 'OvS-DPDK' };

export type NicDriverKind = 'tap' | 'af_packet' | 'pci';

export interface Range { min: number; max: number }

export interface DatapathLimits {
    /** Queue pairs of one vhost-user port. */
    portQueues: Range;
    /** Queues of one NIC, per driver; undefined: the datapath cannot drive it at all. */
    nicQueues: Record<NicDriverKind, Range | undefined>;
    /** Virtqueue sizes the datapath accepts from the frontend (SET_VRING_NUM). */
    vring: { min: number; max: number; powerOfTwo: true };
    /** Bytes of a unix socket path (sockaddr_un.sun_path without its NUL). */
    sunPathBytes: number;
    /** Bridge, port and NIC MTU. */
    mtu: Range;
    /** Host interface names (tap, af_packet): Linux's IFNAMSIZ-1 and what is safe in `ip` argv and DPDK devargs. */
    ifname: { maxBytes: number; pattern: RegExp };
}

/** Linux: sockaddr_un.sun_path is 108 bytes including the terminating NUL. */
export const SUN_PATH_BYTES = 107;
/** Linux: IFNAMSIZ is 16 including the NUL. */
export const IFNAME_BYTES = 15;
/** Letters, digits, `_`, `.`, `-`; not starting with `-` (an option) and without `,`/`=` (DPDK devargs). */
export const IFNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** The virtio split ring: a power of two up to 32768 (virtio 1.x, 2.7). */
const VRING = { min: 1, max: 32768, powerOfTwo: true } as const;

export const LIMITS: Record<DatapathKind, DatapathLimits> = {
    embedded: {
        // One poll loop serves every queue; the port's rings are sized for 8 pairs (datapath ports/vhost-port).
        portQueues: { min: 1, max: 8 },
        // tap: one fd per queue (IFF_MULTI_QUEUE); af_packet: one socket per queue in a fanout group. pci: not driven.
        nicQueues: { tap: { min: 1, max: 16 }, af_packet: { min: 1, max: 16 }, pci: undefined },
        vring: VRING,
        sunPathBytes: SUN_PATH_BYTES,
        // The largest vhost-user frame OvS-DPDK takes; the embedded switch follows so a topology moves between them.
        mtu: { min: 68, max: 9710 },
        ifname: { maxBytes: IFNAME_BYTES, pattern: IFNAME_PATTERN },
    },
    ovs: {
        // DPDK vhost: VHOST_MAX_QUEUE_PAIRS (0x80); QEMU's virtio-net takes as many.
        portQueues: { min: 1, max: 128 },
        // net_tap: RTE_PMD_TAP_MAX_QUEUES 16; net_af_packet: RTE_PMD_AF_PACKET_MAX_RINGS 16; pci: as vhost.
        nicQueues: { tap: { min: 1, max: 16 }, af_packet: { min: 1, max: 16 }, pci: { min: 1, max: 128 } },
        vring: VRING,
        sunPathBytes: SUN_PATH_BYTES,
        // netdev-dpdk: NETDEV_DPDK_MAX_PKT_LEN 9728 minus Ethernet header and CRC.
        mtu: { min: 68, max: 9710 },
        ifname: { maxBytes: IFNAME_BYTES, pattern: IFNAME_PATTERN },
    },
};

export function inRange(v: number, r: Range): boolean {
    return Number.isInteger(v) && v >= r.min && v <= r.max;
}

export function vringSizeOk(num: number, l: DatapathLimits['vring'] = VRING): boolean {
    return num >= l.min && num <= l.max && (num & (num - 1)) === 0;
}

export function ifnameOk(name: string, l: DatapathLimits['ifname'] = LIMITS.embedded.ifname): boolean {
    return l.pattern.test(name) && new TextEncoder().encode(name).length <= l.maxBytes && name !== '.' && name !== '..';
}

/** The most queue pairs any datapath serves per port (the checker's hard range is per datapath). */
export const MAX_PORT_QUEUES = Math.max(...DATAPATH_KINDS.map((k) => LIMITS[k].portQueues.max));
