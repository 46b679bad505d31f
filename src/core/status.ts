/** Status: the live view, plain JSON, shared by CLI, LSP and both datapaths. */
import type { DatapathKind } from './limits.js';

export type VmState = 'running' | 'booting' | 'stopped' | 'crashed' | 'absent';
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
}
