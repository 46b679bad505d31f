/** What the switch knows about any port: identity, counters, and how to send to it. */
import type { Frame } from '../virtio/frame.js';
import type { PcapWriter } from './pcap.js';
import type { Bridge } from './bridge.js';
import type { PortReport, QueueCounters } from '../../core/control.js';

/** The report types are the control protocol's (core/control.ts). */
export type { PortReport, QueueCounters };

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
