/**
 * Host NIC ports: a multi-queue tap (one fd per queue) or af_packet sockets
 * in a fanout group on a real interface (the kernel's flow hash spreads
 * receive across them, like RSS). Event-driven: each fd is watched by
 * libuv and drained in bursts; egress picks the fd by the same Toeplitz
 * flow hash as vhost ports.
 */
import { FdWatch, watchReadable } from '../sys/eventfd.js';
import { openAfPacketQueues, openTapQueues, readFrame, setLinkUp, writeFrame } from '../sys/netdev.js';
import { closeFd } from '../sys/unix-socket.js';
import type { Engine } from '../switch/engine.js';
import { Port, type PortReport, type QueueCounters } from '../switch/port.js';
import { indirectionTable, rssQueue } from '../switch/rss.js';
import { Frame } from '../virtio/frame.js';
import { frameBuffer, type FrameBuffer } from '../virtio/guest-memory.js';

const RX_CAP = 65536;
/** Where host frames are read to (one at a time, the loop is single-threaded); made on first use, as the vhost scratch is. */
let rxBuf: FrameBuffer | undefined;
const rxFrame = new Frame();
const BURST = 64;

interface NetQueue {
    fd: number;
    watch: FdWatch | undefined;
    c: QueueCounters;
}

let fanoutGroup = (process.pid * 7) & 0xffff;

export class NetdevPort extends Port {
    private readonly qs: NetQueue[] = [];
    /** RSS indirection table over qs. */
    private reta = indirectionTable(1);

    constructor(
        private readonly engine: Engine,
        id: string,
        readonly kind: 'tap' | 'af_packet',
        readonly ifname: string,
        queues: number,
        mtu: number,
    ) {
        super(id);
        const fds = kind === 'tap' ? openTapQueues(ifname, queues) : openAfPacketQueues(ifname, queues, fanoutGroup++ & 0xffff);
        if (kind === 'tap') {
            try {
                setLinkUp(ifname, mtu);
            } catch (e) {
                for (const fd of fds) closeFd(fd);
                throw e;
            }
        }
        fds.forEach((fd, q) => {
            const nq: NetQueue = {
                fd,
                watch: undefined,
                c: { queue: q, rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, kicks: 0, calls: 0, mode: 'interrupt', mode_switches: 0 },
            };
            nq.watch = watchReadable(fd, () => this.readable(nq));
            this.qs.push(nq);
            this.reta = indirectionTable(this.qs.length);
        });
    }

    private readable(q: NetQueue): void {
        this.engine.now = performance.now();
        const f = rxFrame;
        const b = (rxBuf ??= frameBuffer(RX_CAP));
        for (let k = 0; k < BURST; k++) {
            let n: number;
            try {
                n = readFrame(q.fd, b.mem.addr + b.off, RX_CAP);
            } catch {
                break;
            }
            if (n < 0) break;
            q.c.kicks++;
            q.c.rx_packets++;
            q.c.rx_bytes += n;
            this.rx_packets++;
            this.rx_bytes += n;
            f.mem = b.mem;
            f.off = b.off;
            f.len = n;
            f.hash = -1;
            f.hops = 0;
            if (this.capture) this.capture.write(f);
            this.bridge?.input(this, f);
        }
        this.engine.flush();
    }

    transmit(f: Frame): void {
        const qs = this.qs;
        const q = qs.length === 1 ? qs[0] : qs[rssQueue(this.reta, f)];
        if (writeFrame(q.fd, f.mem.addr + f.off, f.len)) {
            q.c.tx_packets++;
            q.c.tx_bytes += f.len;
            this.tx_packets++;
            this.tx_bytes += f.len;
            if (this.capture) this.capture.write(f);
        } else {
            q.c.drops++;
            this.drop(this.kind === 'tap' ? 'tap-busy' : 'send-failed');
        }
    }

    report(): PortReport {
        const r = this.baseReport(this.kind, 'up', this.qs.map((q) => ({ ...q.c })));
        return r;
    }

    close(): void {
        for (const q of this.qs) {
            q.watch?.close();
            closeFd(q.fd);
        }
        this.qs.length = 0;
    }
}
