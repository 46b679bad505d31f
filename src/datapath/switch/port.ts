/** What the switch knows about any port: identity, counters, and how to send to it. */
import type { Frame } from '../virtio/frame.js';
import type { PcapWriter } from './pcap.js';
import type { Bridge } from './bridge.js';

export interface QueueCounters {
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
    /** Egress backlog (pfifo) depth now. */
    backlog?: number;
    /** Frames that went through the backlog (guest RX ring full when they came), since the port was added. */
    backlogged?: number;
}

/** The raw status the datapath process reports for a port. */
export interface PortReport {
    id: string;
    kind: 'vhost' | 'tap' | 'af_packet' | 'patch';
    bridge: string;
    link: 'up' | 'down';
    vhost?: 'connected' | 'connecting' | 'waiting' | 'disconnected' | 'failed';
    socket?: string;
    mode?: 'client' | 'server';
    error?: string;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
    drops: number;
    drops_by_reason: Record<string, number>;
    queues: QueueCounters[];
    features?: string[];
    num_of_vrings?: number;
    connects?: number;
    capture?: string;
}

export abstract class Port {
    /** Index in the engine's port array (the MAC table stores it). */
    num = -1;
    bridge: Bridge | undefined;
    rx_packets = 0;
    rx_bytes = 0;
    tx_packets = 0;
    tx_bytes = 0;
    readonly dropsByReason: Record<string, number> = {};
    capture: PcapWriter | undefined;
    /**
     * The bridge's last unicast decision for frames from this port: the
     * first 12 bytes (dst+src MAC) as words, where they went, and the MAC
     * table generation and time it was made at (see Bridge.input).
     */
    fcW0 = 0;
    fcW1 = 0;
    fcW2 = 0;
    fcDst: Port | undefined;
    fcGen = -1;
    fcAt = 0;

    constructor(readonly id: string) {}

    /** Switch → port. Must copy the frame out before returning. */
    abstract transmit(f: Frame): void;
    abstract report(): PortReport;
    abstract close(): void;

    drop(reason: string): void {
        this.dropsByReason[reason] = (this.dropsByReason[reason] ?? 0) + 1;
    }

    dropsTotal(): number {
        let n = 0;
        for (const k in this.dropsByReason) n += this.dropsByReason[k];
        return n;
    }

    protected baseReport(kind: PortReport['kind'], link: 'up' | 'down', queues: QueueCounters[]): PortReport {
        return {
            id: this.id,
            kind,
            bridge: this.bridge?.name ?? '',
            link,
            rx_packets: this.rx_packets,
            tx_packets: this.tx_packets,
            rx_bytes: this.rx_bytes,
            tx_bytes: this.tx_bytes,
            drops: this.dropsTotal(),
            drops_by_reason: { ...this.dropsByReason },
            queues,
            capture: this.capture?.file,
        };
    }
}
