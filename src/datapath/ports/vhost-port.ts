/**
 * A vhost-user port: a VhostChannel + VhostUserDevice (control) and one
 * QueuePair per virtio-net queue pair (data). Guest TX ring 2q+1 is
 * drained into the bridge; frames for the guest go to RX ring 2q chosen
 * by flow hash, or into that pair's pfifo when the ring is full.
 */
import { performance } from 'node:perf_hooks';
import { drainEventfd, signalEventfd } from '../sys/eventfd.js';
import type { Engine, Flushable, Pollable } from '../switch/engine.js';
import { Port, type PortReport, type QueueCounters } from '../switch/port.js';
import { indirectionTable, rssQueue } from '../switch/rss.js';
import { Frame } from '../virtio/frame.js';
import { frameBuffer, type FrameBuffer } from '../virtio/guest-memory.js';
import { frameFromOne, frameFromTxChain, RX_TOO_SMALL, RxWriter } from '../virtio/net.js';
import type { Ring } from '../virtio/ring.js';
import { Chain, ringErrorText } from '../virtio/split-ring.js';
import { VhostChannel } from '../vhost-user/channel.js';
import { VhostUserDevice, type Vring } from '../vhost-user/device.js';
import { featureList, type Message } from '../vhost-user/messages.js';
import { Pfifo } from './pfifo.js';

// Shared per process: the loop is single-threaded and each is used only
// within one synchronous packet operation.
const chain = new Chain();
const rxWriter = new RxWriter(new Chain());
const txFrame = new Frame();
/**
 * Frames gathered from several TX descriptors. Made on first use, when the
 * guests are usually mapped already: two 1 GiB guests fill the arena, and
 * a scratch taken first would push one of them out.
 */
let scratch: FrameBuffer | undefined;
const scratchBuffer = (): FrameBuffer => (scratch ??= frameBuffer(65536 + 64));

export const PFIFO_CAPACITY = 256;

class QueuePair implements Pollable, Flushable {
    inPollSet = false;
    lastWork = 0;
    busyMs = 0;
    /** The last usage sample: busyMs and the clock then, and the % over the interval before it. */
    private sampleBusy = 0;
    private sampleAt = performance.now();
    private usagePct: number | undefined;
    dirty = false;
    mode: 'poll' | 'interrupt' = 'interrupt';
    modeSwitches = 0;
    rx_packets = 0;
    rx_bytes = 0;
    tx_packets = 0;
    tx_bytes = 0;
    drops = 0;
    kicks = 0;
    calls = 0;
    backlogged = 0;
    txRing: Ring | undefined;
    rxRing: Ring | undefined;
    readonly fifo: Pfifo;

    constructor(
        readonly q: number,
        private readonly port: VhostPort,
        slotSize: number,
    ) {
        this.fifo = new Pfifo(PFIFO_CAPACITY, slotSize);
    }

    /** Guest TX → bridge, and backlog → guest RX. */
    poll(budget: number): number {
        const port = this.port;
        let work = 0;
        if (this.fifo.count > 0 && this.rxRing) work += this.drain();
        const ring = this.txRing;
        if (!ring || port.dead) return work;
        let n = ring.pending();
        if (n < 0) {
            port.device.fail(`vring ${2 * this.q + 1}: ${ringErrorText(n)}`);
            return work;
        }
        if (n > budget) n = budget;
        if (n === 0) return work;
        const hdr = port.hdrLen;
        const bridge = port.bridge;
        const f = txFrame;
        for (let k = 0; k < n; k++) {
            const head = ring.takeHead();
            let r = 0;
            if (!frameFromOne(ring, ring.walkOne(head, false), hdr, f)) {
                const e = ring.walk(head, chain, false);
                if (e !== 0) {
                    port.device.fail(`vring ${2 * this.q + 1}: ${ringErrorText(e)}`);
                    return work + k;
                }
                r = frameFromTxChain(ring, chain, hdr, f, scratchBuffer);
            }
            if (r === 0) {
                this.rx_packets++;
                this.rx_bytes += f.len;
                port.rx_packets++;
                port.rx_bytes += f.len;
                if (port.capture) port.capture.write(f);
                f.hops = 0;
                if (bridge) bridge.input(port, f);
            } else {
                this.drops++;
                port.drop(r === -1 ? 'short-tx-buffer' : 'oversize');
            }
            ring.pushUsed(head, 0);
            if (port.dead) return work + k + 1;
        }
        if (ring.publish() && ring.needCall()) this.call(2 * this.q + 1);
        return work + n;
    }

    /** Moves backlog frames into the guest RX ring while it has room. */
    private drain(): number {
        const ring = this.rxRing!;
        const port = this.port;
        const fifo = this.fifo;
        let n = 0;
        while (fifo.count > 0) {
            const f = fifo.peek();
            const r = rxWriter.write(ring, f, port.hdrLen, port.mergeable);
            if (rxWriter.error) {
                const e = rxWriter.error;
                rxWriter.error = 0;
                port.device.fail(`vring ${2 * this.q}: ${ringErrorText(e)}`);
                return n;
            }
            if (r === 0) break;
            fifo.pop();
            n++;
            if (r === RX_TOO_SMALL) {
                this.drops++;
                port.drop('rx-buffer-too-small');
                continue;
            }
            this.tx_packets++;
            this.tx_bytes += f.len;
            port.tx_packets++;
            port.tx_bytes += f.len;
        }
        if (n > 0) port.engine.markDirty(this);
        return n;
    }

    /** Bridge → this pair's guest RX ring (or its backlog). */
    send(f: Frame): void {
        const port = this.port;
        const ring = this.rxRing;
        if (ring && this.fifo.count === 0) {
            const r = rxWriter.write(ring, f, port.hdrLen, port.mergeable);
            if (rxWriter.error) {
                const e = rxWriter.error;
                rxWriter.error = 0;
                port.device.fail(`vring ${2 * this.q}: ${ringErrorText(e)}`);
                return;
            }
            if (r > 0) {
                this.tx_packets++;
                this.tx_bytes += f.len;
                port.tx_packets++;
                port.tx_bytes += f.len;
                if (port.capture) port.capture.write(f);
                port.engine.markDirty(this);
                return;
            }
            if (r === RX_TOO_SMALL) {
                this.drops++;
                port.drop('rx-buffer-too-small');
                return;
            }
        }
        if (!this.fifo.push(f)) {
            this.drops++;
            port.drop(f.len > this.fifo.slotSize ? 'oversize' : 'tail-drop');
            return;
        }
        this.backlogged++;
        if (port.capture) port.capture.write(f);
        if (!this.inPollSet) this.enterPoll();
    }

    /** Publishes RX used entries of this round, one call per round. */
    flush(): void {
        const ring = this.rxRing;
        if (ring && ring.publish() && ring.needCall()) this.call(2 * this.q);
    }

    private call(vring: number): void {
        const fd = this.port.device.vrings[vring].callFd;
        if (fd >= 0 && signalEventfd(fd)) this.calls++;
    }

    enterPoll(): void {
        if (this.mode === 'interrupt') {
            this.mode = 'poll';
            this.modeSwitches++;
        }
        this.txRing?.disableKicks();
        this.rxRing?.disableKicks();
        this.port.engine.wake(this);
    }

    tryInterrupt(): boolean {
        const dev = this.port.device;
        // A ring without a kick fd can only be polled.
        if (this.txRing && dev.vrings[2 * this.q + 1].noKick) return false;
        if (this.fifo.count > 0 && this.rxRing && dev.vrings[2 * this.q].noKick) return false;
        if (this.txRing && this.txRing.enableKicks() !== 0) {
            this.txRing.disableKicks();
            return false;
        }
        if (this.fifo.count > 0 && this.rxRing) {
            this.rxRing.enableKicks();
            if (this.drain() > 0) {
                this.port.engine.flush();
                return false;
            }
        }
        this.mode = 'interrupt';
        this.modeSwitches++;
        return true;
    }

    onKick(): void {
        this.kicks++;
        if (!this.inPollSet) this.enterPoll();
    }

    /** Usage over the last completed interval of at least a second (sampled when status asks). */
    usage(now = performance.now()): number | undefined {
        if (now - this.sampleAt >= 1000) {
            this.usagePct = Math.min(100, Math.round((1000 * (this.busyMs - this.sampleBusy)) / (now - this.sampleAt)) / 10);
            this.sampleBusy = this.busyMs;
            this.sampleAt = now;
        }
        return this.usagePct;
    }

    counters(): QueueCounters {
        const t = this.txRing;
        const d = this.port.device;
        const on = (i: number) => d.active(i) !== undefined;
        const usage = this.usage();
        return {
            queue: this.q,
            rx_packets: this.rx_packets,
            tx_packets: this.tx_packets,
            rx_bytes: this.rx_bytes,
            tx_bytes: this.tx_bytes,
            drops: this.drops,
            kicks: this.kicks,
            calls: this.calls,
            mode: this.mode,
            mode_switches: this.modeSwitches,
            avail_idx: t ? t.availIdx() : undefined,
            used_idx: t ? t.usedIdxPublished() : undefined,
            backlog: this.fifo.count,
            backlogged: this.backlogged,
            enabled: on(2 * this.q) && on(2 * this.q + 1),
            ...(usage !== undefined ? { usage_pct: usage } : {}),
        };
    }
}

export interface VhostPortOptions {
    id: string;
    socket: string;
    mode: 'client' | 'server';
    queues: number;
    mac?: string;
    slotSize: number;
    log: (m: string) => void;
}

export class VhostPort extends Port {
    readonly device: VhostUserDevice;
    readonly channel: VhostChannel;
    private readonly pairs: QueuePair[] = [];
    /** Pairs whose RX ring is usable now: the RSS targets. */
    private rxTargets: QueuePair[] = [];
    /** RSS indirection table over rxTargets. */
    private reta = indirectionTable(1);
    hdrLen = 12;
    mergeable = false;
    dead = false;
    private lastDisconnect: string | undefined;

    constructor(
        readonly engine: Engine,
        readonly opts: VhostPortOptions,
    ) {
        super(opts.id);
        const log = (m: string) => opts.log(`port ${opts.id}: ${m}`);
        this.device = new VhostUserDevice(
            {
                onRingsChanged: () => this.ringsChanged(),
                onKick: (v) => this.kick(v),
                log,
            },
            Math.max(1, opts.queues),
        );
        for (let q = 0; q < this.device.maxQueuePairs; q++) this.pairs.push(new QueuePair(q, this, opts.slotSize));
        this.channel = new VhostChannel(opts.socket, opts.mode, {
            onMessage: (m: Message) => this.device.handle(m),
            onConnect: () => log(`connected (${opts.mode})`),
            onDisconnect: (reason) => {
                this.lastDisconnect = reason;
                log(`disconnected: ${reason}`);
                this.device.reset();
            },
            log,
        });
    }

    open(): void {
        this.channel.open();
    }

    private kick(vring: number): void {
        const v = this.device.vrings[vring];
        if (v.kickFd >= 0) drainEventfd(v.kickFd);
        const p = this.pairs[vring >> 1];
        if (p) p.onKick();
    }

    private ringsChanged(): void {
        const d = this.device;
        this.hdrLen = d.hdrLen;
        this.mergeable = d.mergeable;
        const targets: QueuePair[] = [];
        for (const p of this.pairs) {
            p.rxRing = d.active(2 * p.q);
            p.txRing = d.active(2 * p.q + 1);
            if (p.rxRing) targets.push(p);
            if (!p.rxRing && !p.txRing) {
                p.fifo.clear();
                this.engine.forget(p);
                if (p.mode === 'poll') {
                    p.mode = 'interrupt';
                    p.modeSwitches++;
                }
            } else if (!p.inPollSet) {
                // Look at the rings once: the driver may have posted before kicking was armed.
                p.enterPoll();
            }
        }
        this.rxTargets = targets;
        this.reta = indirectionTable(targets.length);
        if (this.bridge && targets.length === 0) this.bridge.macs.forgetPort(this.num);
    }

    transmit(f: Frame): void {
        const t = this.rxTargets;
        const n = t.length;
        if (n === 0) {
            this.drop('link-down');
            return;
        }
        const p = n === 1 ? t[0] : t[rssQueue(this.reta, f)];
        p.send(f);
    }

    report(): PortReport {
        const d = this.device;
        const up = this.rxTargets.length > 0 || this.pairs.some((p) => p.txRing);
        const nPairs = Math.max(1, Math.ceil(d.vrings.filter((v) => v.started).length / 2));
        const r = this.baseReport('vhost', up && !d.failed ? 'up' : 'down', this.pairs.slice(0, Math.min(this.pairs.length, Math.max(nPairs, this.opts.queues))).map((p) => p.counters()));
        r.vhost = d.failed ? 'failed' : this.channel.state;
        r.socket = this.opts.socket;
        r.mode = this.opts.mode;
        r.error = d.failed ?? (this.channel.state !== 'connected' ? this.lastDisconnect : undefined);
        r.features = featureList(d.features);
        r.num_of_vrings = d.vrings.filter((v: Vring) => v.started).length;
        r.connects = this.channel.connects;
        return r;
    }

    close(): void {
        this.dead = true;
        for (const p of this.pairs) this.engine.forget(p);
        this.channel.close();
        this.device.reset();
    }
}
