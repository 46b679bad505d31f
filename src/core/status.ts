/** Status: the live view, plain JSON, shared by CLI, LSP and both datapaths. */
import type { DatapathKind } from './limits.js';
import type { ImpairmentPlan } from './plan.js';

/** `restarting`: a `vtopo restart` (or start) is bringing the guest back; it turns `running` when the guest is up. */
export type VmState = 'running' | 'booting' | 'restarting' | 'stopped' | 'crashed' | 'absent';
export type LinkState = 'up' | 'down';
export type VhostState = 'connected' | 'connecting' | 'waiting' | 'disconnected' | 'failed';

export interface QueueStatus {
    queue: number;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
    drops: number;
    kicks: number;
    calls: number;
    mode: 'poll' | 'interrupt';
    mode_switches: number;
    avail_idx?: number;
    used_idx?: number;
    /**
     * Who serves the queue (issue 18's PMD picture). `core`: the host CPU
     * that polls it (OvS: the PMD thread's core_id; embedded: the CPU its
     * poll loop runs on). `planned_core`: the plan's core, where the
     * datapath was asked to pin it. `enabled`: the guest enabled the ring
     * (a multi-queue port whose guest uses fewer queues leaves some off).
     * `polled`: OvS assigned it to a PMD at all (false: a black hole).
     * `usage_pct`: share of that core's cycles spent on this queue over
     * the datapath's last measuring interval (OvS: 60 s; embedded: 1 s).
     */
    core?: number;
    planned_core?: number;
    enabled?: boolean;
    polled?: boolean;
    usage_pct?: number;
}

/** A polling thread: an OvS PMD or the embedded datapath's poll loop. */
export interface PollerStatus {
    datapath: 'embedded' | 'ovs';
    core: number;
    numa?: number;
    /** OvS: the PMD polls only the queues pinned to it. */
    isolated?: boolean;
    /** Busy share of the cycles it used, % (OvS pmd-perf-show: busy iterations of used cycles). */
    busy_pct?: number;
    /** Share of the core it used at all, % (sleeping PMDs or an idle loop use little). */
    used_pct?: number;
    rx_packets?: number;
    /** `port:queue` it polls, in the order OvS lists them. */
    queues: string[];
}

export interface PortStatus {
    /** `<vm>.<port>` for VM ports, the nic name for NICs. */
    id: string;
    vm?: string;
    port: string;
    bridge: string;
    datapath: DatapathKind;
    link: LinkState;
    vhost?: VhostState;
    /** Why a device was marked failed, or the OvS Interface error. */
    error?: string;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
    drops: number;
    drops_by_reason?: Record<string, number>;
    queues: QueueStatus[];
    features?: string[];
    num_of_vrings?: number;
    /** The impairment in force on the port's egress (towards the guest), when one is set. */
    impair?: ImpairStatus;
    /** Set when `vtopo link PORT down` took the port's carrier away. */
    admin?: 'down';
}

/** What the egress impairment qdisc did since it was first set on the port. */
export interface ImpairStatus {
    set: ImpairmentPlan;
    /** Frames that waited in the delay line. */
    delayed: number;
    dropped_loss: number;
    /** Dropped by the rate queue or the qdisc's frame limit. */
    dropped_limit: number;
    duplicated: number;
    /** Frames that left ahead of one that came before them. */
    reordered: number;
    /** Frames held now. */
    backlog: number;
}

/** A patch link between two bridges, one entry per direction (frames leaving `from` towards `to`). */
export interface LinkStatus {
    /** The LinkPlan id (`a--b`). */
    id: string;
    datapath: DatapathKind;
    link: LinkState;
    /** Set when `vtopo link … down` took the link's carrier away. */
    admin?: 'down';
    directions: LinkDirectionStatus[];
}

export interface LinkDirectionStatus {
    from: string;
    to: string;
    packets: number;
    bytes: number;
    drops: number;
    /** The impairment on this direction (a link's applies both ways), and what it did. */
    impair?: ImpairStatus;
}

export interface VmStatus {
    name: string;
    state: VmState;
    reason?: string;
    accel?: 'kvm' | 'tcg';
    pid?: number;
    agent?: 'ready' | 'absent' | 'unavailable';
    /** Per NIC (topology port name): the receive filter the guest driver set, as QEMU reports it. */
    rx_filters?: Record<string, GuestRxFilter>;
    /** Things vtopo could not apply to this guest (e.g. vCPU pinning). */
    warnings?: string[];
    /** Stopped by `vtopo stop`: it stays stopped until `vtopo start` or the next deploy. */
    user_stopped?: boolean;
    /** NICs (topology port names) whose carrier `vtopo link … down` took away. */
    links_down?: string[];
}

export interface GuestRxFilter {
    /** The MAC the guest uses now (it may differ from the plan's after `ip link set address`). */
    mac: string;
    promiscuous: boolean;
    /** normal | none | all */
    multicast: string;
    unicast: string;
    unicast_table: string[];
    multicast_table: string[];
}

export interface DatapathStatus {
    kind: DatapathKind;
    running: boolean;
    pid?: number;
    mode?: string;
    uptime_s?: number;
    error?: string;
}

export interface Status {
    topology: string;
    file: string;
    deployed: boolean;
    at: string;
    datapaths: DatapathStatus[];
    vms: VmStatus[];
    ports: PortStatus[];
    /** Patch links between bridges, per direction (absent when the topology has none). */
    links?: LinkStatus[];
    /** The polling threads and what they poll (absent when the datapath could not say). */
    pollers?: PollerStatus[];
    /** The hugepage budget of a topology that declares `hugepages`, per page size. */
    hugepages?: HugepageBudget[];
    /** Things a datapath reports about itself or our ports (e.g. OvS log warnings naming a port). */
    datapath_warnings?: { datapath: 'embedded' | 'ovs'; port?: string; message: string }[];
    /** Hosts, chassis, tunnels and logical port bindings of a multi-host topology (absent: one host). */
    fabric?: FabricStatus;
}

/** One hugepage size: the host's pages, what vtopo reserved for this topology, and who uses them. */
export interface HugepageBudget {
    page_kb: number;
    host_total: number;
    host_free: number;
    /** Pages vtopo added to the host's count for this topology (given back by destroy). */
    reserved: number;
    /** Each guest (its memory) and OvS (its DPDK memory pools): pages mapped now, and its share from the plan. */
    users: { name: string; kind: 'guest' | 'ovs'; used_pages: number; share_pages: number }[];
}

/** The multi-host part of a Status (issue 20): per host its chassis, ovn-controller and tunnels; per logical port its binding. */
export interface FabricStatus {
    /** `host`: the host it runs on, when that is another machine (a `--host` part): nb and northd are then not seen from here. */
    central: { kind: 'private' | 'external'; nb: boolean; sb?: boolean; northd?: boolean; host?: string };
    hosts: FabricHostStatus[];
    ports: FabricPortStatus[];
}

export interface FabricHostStatus {
    name: string;
    chassis: string;
    /** A SB Chassis row with this name exists (absent when the SB could not be read). */
    chassis_registered?: boolean;
    /** `remote`: another machine runs it (an ssh host, or any host but ours under `--host`): the SB registration tells. */
    controller: 'running' | 'stopped' | 'remote';
    controller_pid?: number;
    /** An ssh host: whether it answered over ssh just now. */
    reachable?: boolean;
    /** The host's OvS answered. */
    ovs: boolean;
    tunnels: FabricTunnelStatus[];
    /** Why part of this host could not be read. */
    error?: string;
}

export interface FabricTunnelStatus {
    /** The OvS port ovn-controller made (e.g. `ovn-h2-0`). */
    port: string;
    type: string;
    remote_ip: string;
    /** The fabric host whose underlay address that is (absent: not one of ours). */
    peer?: string;
    link: LinkState | 'unknown';
    /** bfd_status:state when OVN enabled BFD on the tunnel (it does between gateway chassis). */
    bfd?: string;
}

export interface FabricPortStatus {
    /** The Logical_Switch_Port (`<vm>.<port>`). */
    name: string;
    switch: string;
    vm: string;
    /** The host the plan places it on. */
    host: string;
    /** Logical_Switch_Port.up: ovn-controller bound it and installed its flows. */
    up: boolean;
    /** The chassis its SB Port_Binding names (absent: unbound, or the SB could not be read). */
    chassis?: string;
    /** Bound on the chassis of the host the plan places it on. */
    on_planned_chassis?: boolean;
}
