/**
 * The Plan: everything a deploy needs, resolved, as plain JSON. Produced by
 * `compilePlan` (pure) from the AST plus `HostFacts`; consumed by reconcile,
 * the backends, exports and status. Field names are a contract: golden
 * files and persisted state depend on them.
 */

/** Facts about the host gathered by the runtime (the plan never probes). */
export interface HostFacts {
    /** Directory under which each topology gets `<runRoot>/<topology>` (0700). */
    runRoot: string;
    /** /dev/kvm usable AND the CPU shows vmx|svm. */
    kvmUsable: boolean;
    /** Why KVM is not usable, for the warning (e.g. "no vmx/svm in /proc/cpuinfo"). */
    kvmReason?: string;
    /** Absolute path of the source file. */
    sourceFile: string;
    /** Online host CPUs: the default for `host { cores }` when the file omits it. */
    onlineCpus?: number[];
    /**
     * `unix:/abs/path` of an existing OvS database, from the command line
     * (`--ovsdb`): it overrides the file's `host { ovsdb … }`.
     */
    ovsdb?: string;
    /**
     * `unix:/abs/path` of the OvS database to use when neither `--ovsdb` nor
     * the file's `host { ovsdb … }` names one (the vtopo.ovsdb setting,
     * VTOPO_OVSDB).
     */
    defaultOvsdb?: string;
    /** `--host H`: plan host H's part of a topology across hosts, as run on this machine. */
    scopeHost?: string;
}

export type { DatapathKind } from './limits.js';
import type { DatapathKind } from './limits.js';
import type { FabricPlan } from './fabric.js';
export type * from './fabric.js';
export type Accel = 'kvm' | 'tcg';

export interface Plan {
    version: 1;
    topology: string;
    sourceFile: string;
    /** `<runRoot>/<topology>`: sockets, logs, pidfiles, state. */
    runDir: string;
    host: HostPlan;
    datapaths: { embedded?: EmbeddedDatapathPlan; ovs?: OvsDatapathPlan };
    bridges: BridgePlan[];
    links: LinkPlan[];
    nics: NicPlan[];
    vms: VmPlan[];
    /**
     * Plan-time messages a user should see, by severity: `notes` inform
     * (e.g. "TCG: vectors=0 because …"), `warnings` name a choice the user
     * probably did not want (e.g. accel auto fell back to TCG). Deploy shows
     * both; warnings as warnings. Plans persisted before warnings existed
     * lack the field.
     */
    notes: string[];
    warnings?: string[];
    /** The file's `expect` lines, for verify (absent when none). */
    expectations?: ExpectationPlan[];
    /** Many hosts joined by OVN (absent: one host, the file has no `fabric`). */
    fabric?: FabricPlan;
}

/**
 * `expect a reaches b`, `expect a isolated c`, `expect rtt a b < 50ms`,
 * `expect throughput a b > 200mbit` (iperf3 a → b in the guests).
 */
export interface ExpectationPlan {
    /** 1-based line of the `expect` in the file. */
    line: number;
    kind: 'reaches' | 'isolated' | 'rtt' | 'throughput';
    from: string;
    to: string;
    /** rtt: the median must be below this many ms; throughput: above this many bits/s. */
    limit?: number;
}

export interface HostPlan {
    cores: number[];
    memoryBytes: number;
    hugepages?: { pageSizeBytes: number; count: number; mountDir: string };
    pollCores: number[];
}

export interface EmbeddedDatapathPlan {
    controlSocket: string;
    pidFile: string;
    logFile: string;
    pollCores: number[];
}

export interface OvsDatapathPlan {
    /**
     * private: vtopo starts its own ovsdb-server + ovs-vswitchd-dpdk.
     * existing: the OvS whose database `host { ovsdb }` or `--ovsdb` names;
     * vtopo touches only the bridges it created there.
     * fabric: the OvS of each host of `Plan.fabric` (FabricHostPlan.ovs);
     * `dbSocket` is this machine's host's (or the first simulated host's).
     */
    mode: 'private' | 'existing' | 'fabric';
    /** Path of the database's unix socket (without the `unix:` prefix). */
    dbSocket: string;
    runDir: string;
    /** The private OvS's network namespace; '' runs it where vtopo runs (a fabric host on its own uplink). */
    netns?: string;
    filePrefix?: string;
    pmdCpuMask?: string;
    socketMemMb?: number;
    hugepageDir?: string;
    noHuge?: boolean;
    /**
     * Who places the rx queues of our ports on PMD threads. `pinned`: vtopo
     * writes pmd-rxq-affinity from each port's queueCores (only on its own
     * OvS, which it runs with pmd-rxq-assign=group and pmd-rxq-isolate=false,
     * so a pinned PMD still polls unpinned queues). `scheduler`: OvS's own
     * rxq scheduler places them (an existing OvS: pinning there isolates
     * the PMD under its default settings and leaves other queues unpolled);
     * status reports the placement OvS chose. Plans persisted before the
     * field existed lack it: `pinned` for private, `scheduler` for existing.
     */
    rxqPlacement?: 'pinned' | 'scheduler';
}

export interface BridgePlan {
    name: string;
    datapath: DatapathKind;
    mtu: number;
}

export interface LinkPlan {
    /** `<a>--<b>` (sorted), stable across deploys. */
    id: string;
    a: string;
    b: string;
    /** Both directions (absent: none). */
    impair?: ImpairmentPlan;
}

export type NicDriverPlan =
    | { kind: 'tap'; ifname: string }
    | { kind: 'af_packet'; iface: string }
    | { kind: 'pci'; address: string };

export interface NicPlan {
    name: string;
    bridge: string;
    datapath: DatapathKind;
    driver: NicDriverPlan;
    queues: number;
    rss: string[];
    mtu: number;
    /** Absent: the port carries every VLAN, untagged frames as VLAN 0 (OvS's default). */
    vlan?: VlanPlan;
}

/**
 * 802.1Q on a port or NIC. access: the guest side is untagged, the bridge
 * side VLAN `tag`. trunk: tagged frames of `trunks` pass (others drop);
 * untagged frames are VLAN `native` when set (it is carried, sent
 * untagged), dropped otherwise. VLAN ids 1-4094; `trunks` sorted, unique.
 */
export type VlanPlan =
    | { mode: 'access'; tag: number }
    | { mode: 'trunk'; trunks: number[]; native?: number };

export type ImagePlan =
    | { kind: 'default' }
    | { kind: 'kernel'; kernel: string; initrd?: string; append?: string }
    | { kind: 'disk'; path: string };

export type MemoryBackendPlan =
    | { kind: 'memfd' }
    | { kind: 'file'; dir: string; pageSizeBytes: number };

export interface VmPlan {
    name: string;
    cpus: number;
    memoryBytes: number;
    pin?: number[];
    /** What the file asked for, and what the plan chose from HostFacts. */
    accelRequested: 'auto' | 'kvm' | 'tcg';
    accel: Accel;
    image: ImagePlan;
    memoryBackend: MemoryBackendPlan;
    qmpSocket: string;
    agentSocket: string;
    /** Guest serial console: a unix socket (attachable) that QEMU also logs to `serialLog`. */
    consoleSocket: string;
    serialLog: string;
    /** QEMU's own stderr/stdout, for "why did it exit" messages. */
    qemuLog: string;
    pidFile: string;
    ports: VmPortPlan[];
    /** The fabric host it runs on (absent: this machine, no fabric). */
    host?: string;
}

export interface VmPortPlan {
    /** `<vm>.<port>`: the port's identity in the datapath and in status. */
    id: string;
    vm: string;
    name: string;
    bridge: string;
    datapath: DatapathKind;
    mac: string;
    /** CIDR, e.g. 10.0.0.1/24. */
    ip?: string;
    mtu: number;
    queues: number;
    /** client: QEMU is the socket server and the switch connects. */
    vhostMode: 'client' | 'server';
    socketPath: string;
    mrgRxbuf: boolean;
    /** MSI-X vectors for virtio-net-pci: 2N+2 under KVM, 0 under TCG (QEMU 7.2 crash). */
    vectors: number;
    /**
     * queue index → host core planned to serve it in the datapath. Enforced
     * only where the datapath pins (OvS: `rxqPlacement: 'pinned'`); where
     * the datapath's own scheduler places queues it is a preference, and
     * status reports the actual core.
     */
    queueCores: number[];
    /** Absent: every VLAN, untagged frames as VLAN 0. */
    vlan?: VlanPlan;
    /** Frames leaving the switch towards the guest (absent: none). */
    impair?: ImpairmentPlan;
    /** Virtqueue layout (absent: split). */
    ring?: 'split' | 'packed';
    /** The guest's default gateway through this port (an address, no prefix); absent: none. */
    gateway?: string;
}

/**
 * A netem-like impairment of the frames leaving the switch through a port
 * (towards its guest), or through both ends of a link. Absent keys are off.
 */
export interface ImpairmentPlan {
    delayUs?: number;
    jitterUs?: number;
    /** Percent, 0-100. */
    lossPct?: number;
    duplicatePct?: number;
    /** Percent of frames sent at once, ahead of the delayed ones (needs delay). */
    reorderPct?: number;
    /** Bits per second. */
    rateBps?: number;
}

/** The impairment keys, for loops that treat them alike (CLI, checker, diff). */
export const IMPAIRMENT_KEYS = ['delayUs', 'jitterUs', 'lossPct', 'duplicatePct', 'reorderPct', 'rateBps'] as const;

/** True when `i` impairs nothing. */
export function impairmentIsEmpty(i: ImpairmentPlan | undefined): boolean {
    return !i || IMPAIRMENT_KEYS.every((k) => !i[k]);
}
