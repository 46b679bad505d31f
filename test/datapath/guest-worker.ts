/**
 * A guest driver on its own thread, for the wake-up test: two guests'
 * rings (as test/datapath/fake-frontend.ts lays them out) driven the way a
 * virtio-net driver does, with real concurrency against the switch. Frames
 * go out in bursts with random pauses (some long enough for the switch's
 * queues to fall back to interrupts), and the driver kicks only when the
 * device asks for it (VRING_USED_F_NO_NOTIFY clear): a device that misses
 * a wake-up then stalls, which the test sees as frames never delivered.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { mapShared } from '../../src/datapath/sys/memory.js';
import { rng } from '../support/rng.js';

export interface GuestWorkerData {
    guests: { memFd: number; kick: [number, number]; mac: number[]; peer: number[] }[];
    frames: number;
    seed: number;
    /** VIRTIO_RING_F_EVENT_IDX negotiated: kick when the index passes the device's avail_event, not by flag. */
    eventIdx: boolean;
    /** [0] sent by guest 0, [1] by guest 1, [2] received by 0, [3] by 1, [4] bad frames, [5] done, [6] stalls. */
    counters: SharedArrayBuffer;
}

const GPA = 0x100000;
const MEM = 4 << 20;
const NUM = 256;
const BUF = 2048;
const HDR = 12;
const RX = 0;
const TX = 0x10000;
const POOL = 0x40000;


function guest(g: GuestWorkerData['guests'][number], counters: Int32Array, me: number, eventIdx: boolean) {
    const m = mapShared(g.memFd, MEM, 0);
    const u16 = new Uint16Array(m.buffer);
    const u32 = new Uint32Array(m.buffer);
    const u8 = new Uint8Array(m.buffer);
    const dv = new DataView(m.buffer);
    let txAvail = 0;
    let txSeen = 0;
    let rxAvail = 0;
    let rxSeen = 0;
    let nextId = 0;
    let expect = 0;
    const freeTx: number[] = [];
    for (let b = 0; b < NUM; b++) freeTx.push(POOL + b * BUF);
    // Buffer offset behind each descriptor slot.
    const txAddr = new Int32Array(NUM);
    const rxAddr = new Int32Array(NUM);
    const desc = (ring: number, i: number, off: number, len: number, flags: number) => {
        const o = (ring + 16 * i) >> 2;
        u32[o] = GPA + off;
        u32[o + 1] = 0;
        u32[o + 2] = len;
        u32[o + 3] = flags;
    };
    const rxBuf = (slot: number) => POOL + (NUM + slot) * BUF;
    /** Publishes avail idx, then kicks if the device asked for it (the order a driver must use). */
    const publish = (ring: number, idx: number, kick: number) => {
        const old = Atomics.exchange(u16, ((ring + 0x1000) >> 1) + 1, idx);
        if (eventIdx) {
            // vring_need_event: the device's avail_event lies in [old, idx).
            const event = Atomics.load(u16, ((ring + 0x2000) >> 1) + 2 + 4 * NUM);
            if (((idx - event - 1) & 0xffff) < ((idx - old) & 0xffff)) signalEventfd(kick);
        } else if ((Atomics.load(u16, (ring + 0x2000) >> 1) & 1) === 0) signalEventfd(kick);
    };
    const postRx = (off: number) => {
        const s = rxAvail & (NUM - 1);
        desc(RX, s, off, BUF, 2);
        rxAddr[s] = off;
        u16[((RX + 0x1000) >> 1) + 2 + s] = s;
        rxAvail = (rxAvail + 1) & 0xffff;
    };
    // All RX buffers posted at once.
    for (let b = 0; b < NUM; b++) postRx(rxBuf(b));
    publish(RX, rxAvail & 0xffff, g.kick[0]);
    return {
        send(n: number): void {
            let posted = 0;
            while (posted < n && freeTx.length) {
                const off = freeTx.pop()!;
                u8.fill(0, off, off + HDR);
                u8.set(g.peer, off + HDR);
                u8.set(g.mac, off + HDR + 6);
                u8[off + HDR + 12] = 0x88;
                u8[off + HDR + 13] = 0xb5;
                dv.setUint32(off + HDR + 14, nextId++, true);
                const s = txAvail & (NUM - 1);
                desc(TX, s, off, HDR + 60, 0);
                txAddr[s] = off;
                u16[((TX + 0x1000) >> 1) + 2 + s] = s;
                txAvail = (txAvail + 1) & 0xffff;
                posted++;
            }
            if (posted) {
                Atomics.add(counters, me, posted);
                publish(TX, txAvail, g.kick[1]);
            }
        },
        /** Takes back sent buffers and received frames; reposts RX buffers. */
        reap(): void {
            const txUsed = Atomics.load(u16, ((TX + 0x2000) >> 1) + 1);
            while (txSeen !== txUsed) {
                const e = ((TX + 0x2000) >> 2) + 1 + 2 * (txSeen & (NUM - 1));
                freeTx.push(txAddr[u32[e]]);
                txSeen = (txSeen + 1) & 0xffff;
            }
            const rxUsed = Atomics.load(u16, ((RX + 0x2000) >> 1) + 1);
            let got = 0;
            while (rxSeen !== rxUsed) {
                const e = ((RX + 0x2000) >> 2) + 1 + 2 * (rxSeen & (NUM - 1));
                const id = u32[e];
                const off = rxAddr[id];
                const frameId = dv.getUint32(off + HDR + 14, true);
                // In order, each frame once: the peer's ids count up from 0.
                if (frameId !== expect) Atomics.add(counters, 4, 1);
                expect = frameId + 1;
                postRx(off);
                rxSeen = (rxSeen + 1) & 0xffff;
                got++;
            }
            if (got) {
                Atomics.add(counters, 2 + me, got);
                publish(RX, rxAvail, g.kick[0]);
            }
        },
        close: () => m.unmap(),
    };
}

if (parentPort) {
    const w = workerData as GuestWorkerData;
    const counters = new Int32Array(w.counters);
    const r = rng(w.seed);
    const gs = w.guests.map((g, i) => guest(g, counters, i, w.eventIdx));
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
        const sent = counters[0] + counters[1];
        for (let i = 0; i < gs.length; i++) {
            if (counters[i] < w.frames && r() < 0.5) gs[i].send(Math.min(1 + Math.floor(r() * 40), w.frames - counters[i]));
            gs[i].reap();
        }
        if (sent >= 2 * w.frames && counters[2] + counters[3] >= sent) break;
        // Now and then the guests go quiet until all they sent has arrived:
        // a frame stranded by a missed wake-up is then not rescued by the next kick.
        if (r() < 0.05) {
            const until = Date.now() + 1000;
            const total = () => counters[0] + counters[1];
            while (counters[2] + counters[3] < total() && Date.now() < until) {
                for (const g of gs) g.reap();
                Atomics.wait(nap, 0, 0, r() < 0.5 ? 0 : 3);
            }
            if (counters[2] + counters[3] < total()) {
                Atomics.add(counters, 6, 1);
                break;
            }
        }
        const p = r();
        // Mostly busy, sometimes a pause past the switch's 2 ms idle limit (its queues then sleep on kicks).
        if (p < 0.05) Atomics.wait(nap, 0, 0, 3 + Math.floor(r() * 5));
        else if (p < 0.15) Atomics.wait(nap, 0, 0, 1);
    }
    for (const g of gs) g.close();
    Atomics.store(counters, 5, 1);
    parentPort.close();
}
