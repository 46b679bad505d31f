/** What the switch knows about any port: identity, counters, and how to send to it. */
import type { Frame } from '../virtio/frame.js';
import type { ImpairmentPlan } from '../../core/plan.js';
import { Netem, seedOf, type Scheduler } from '../ports/netem.js';
import type { PcapSink } from './pcap.js';
import type { Bridge } from './bridge.js';
import type { PortReport, QueueCounters } from '../../core/control.js';
import type { VlanPlan } from '../../core/plan.js';
import { applyVlan, VLAN_NONE, type VlanPort } from './vlan.js';

/** The report types are the control protocol's (core/control.ts). */
export type { PortReport, QueueCounters };

export abstract class Port implements VlanPort {
    /** Index in the engine's port array (the MAC table stores it). */
    num = -1;
    bridge: Bridge | undefined;
    rx_packets = 0;
    rx_bytes = 0;
    tx_packets = 0;
    tx_bytes = 0;
    readonly dropsByReason: Record<string, number> = {};
    capture: PcapSink | undefined;
    /** The egress impairment qdisc while one is set (the bridge sends through it). */
    qdisc: Netem | undefined;
    private netem: Netem | undefined;
    private impairSpec: ImpairmentPlan | undefined;
    /**
     * Carrier taken away (`vtopo link PORT down`): the bridge takes nothing
     * in from this port and sends nothing out of it.
     */
    linkDown = false;
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
    /** The cached decision's VLAN and tag form (see Bridge.input). */
    fcVlan = -1;
    /** See switch/vlan.ts; set with setVlan. */
    vlanMode = VLAN_NONE;
    vlanTag = 0;
    vlanAllowed: Uint8Array | undefined;
    vlanConfig: VlanPlan | undefined;

    constructor(readonly id: string) {}

    /** Switch → port. Must copy the frame out before returning. */
    abstract transmit(f: Frame): void;
    abstract report(): PortReport;
    abstract close(): void;

    /** The bridge's way out through this port: through the impairment qdisc when one is set. */
    egress(f: Frame): void {
        const q = this.qdisc;
        if (q === undefined) this.transmit(f);
        else q.enqueue(f);
    }

    /**
     * Sets (or with an empty spec clears) the egress impairment in place. The
     * qdisc and its counters stay with the port; frames it holds when cleared
     * leave at once.
     */
    setImpair(spec: ImpairmentPlan, sched: Scheduler, slotSize: number): void {
        const on = Object.values(spec).some((v) => typeof v === 'number' && v > 0);
        if (!on) {
            this.impairSpec = undefined;
            this.qdisc = undefined;
            this.netem?.flushAll(true);
            return;
        }
        this.impairSpec = { ...spec };
        if (this.netem === undefined) {
            this.netem = new Netem(spec, slotSize, sched, (f) => this.transmit(f), (r) => this.drop(r), seedOf(this.id));
        } else this.netem.set(spec);
        this.qdisc = this.netem;
    }

    /** Frees what the qdisc holds; the port is going away. Returns it, for the engine to forget. */
    releaseQdisc(): Netem | undefined {
        const n = this.netem;
        this.qdisc = undefined;
        this.netem = undefined;
        n?.flushAll(false);
        return n;
    }

    /** New VLAN settings: what the bridge learned behind the port under the old ones goes. */
    setVlan(cfg: VlanPlan | undefined): void {
        applyVlan(this, cfg);
        this.vlanConfig = cfg;
        this.fcGen = -1;
        if (this.bridge && this.num >= 0) this.bridge.macs.forgetPort(this.num);
    }

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
            impair: this.impairSpec,
            impair_counters: this.netem?.report(),
            ...(this.linkDown ? { admin: 'down' as const } : {}),
            ...(this.vlanConfig ? { vlan: this.vlanConfig } : {}),
        };
    }
}
