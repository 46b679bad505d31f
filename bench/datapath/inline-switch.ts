/**
 * The whole embedded switch on one core, for A/B runs of hot-path changes
 * (not a test; prints figures). The two-core benches (loop.ts, compare.ts)
 * swing by ±20 % with the host's phases, and ceiling.ts --inline, which is
 * steady, leaves out the vhost port, the bridge and the engine. Here the
 * real Datapath runs in this process with two vhost-user ports on one
 * bridge; two in-process frontends (test/datapath/fake-frontend.ts) do the
 * vhost-user handshake over the sockets, then a guest driver takes a turn
 * in the engine's poll set after each port's batch: every frame a guest
 * receives goes straight back out with its MAC pair rewritten (destination
 * the other guest, as testpmd's mac forwarding does), so the bridge
 * forwards known unicast both ways. No cross-core traffic, no second
 * thread: the figure moves with the switch's own instructions (and the
 * guests', which are the same in both arms of an A/B run).
 *
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/datapath/inline-switch.ts [--seconds 6] [--sizes 64,1518] [--frames 128] [--queues 1,2] [--rounds 1] [--cpu 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Datapath } from '../../src/datapath/datapath.js';
import type { Pollable } from '../../src/datapath/switch/engine.js';
import { signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { setAffinity } from '../../src/datapath/sys/netdev.js';
import { bit, F } from '../../src/datapath/vhost-user/messages.js';
import { FakeFrontend, GPA } from '../../test/support/fake-frontend.js';

const NUM = 256;
const BUF = 2048;
const HDR = 12;
// The fake frontend's layout: ring i at GPA + i * 0x10000 (desc, avail +0x1000, used +0x2000); buffers from GPA + 0x40000,
// one pool of NBUF buffers per queue pair.
const POOL = 0x40000;
const NBUF = 2 * NUM;
const MACS = ['52:54:00:00:b0:01', '52:54:00:00:b0:02'];

const macBytes = (m: string) => m.split(':').map((x) => parseInt(x, 16));

/** A guest driver over one queue pair of a frontend's memory: in-order rings, zero-copy RX → TX with the MAC pair rewritten. */
function guestDriver(fe: FakeFrontend, self: string, peer: string, size: number, frames: number, q = 0) {
    const RX_RING = 2 * q * 0x10000;
    const TX_RING = RX_RING + 0x10000;
    const pool = POOL + q * NBUF * BUF;
    const [rxKick, txKick] = [fe.kick[2 * q], fe.kick[2 * q + 1]];
    const buf = fe.map.buffer;
    const u16 = new Uint16Array(buf);
    const u32 = new Uint32Array(buf);
    const u8 = new Uint8Array(buf);
    const txBuf = new Int32Array(NUM);
    const rxBuf = new Int32Array(NUM);
    let txAvail = 0;
    let rxAvail = 0;
    let txSeen = 0;
    let rxSeen = 0;
    // dst then src MAC as three little-endian words.
    const hdr = new Uint8Array([...macBytes(peer), ...macBytes(self)]);
    const words = new Uint32Array(hdr.buffer);
    const [w0, w1, w2] = [words[0], words[1], words[2]];
    const setDesc = (ring: number, i: number, off: number, len: number, flags: number) => {
        const o = (ring + 16 * i) >> 2;
        u32[o] = GPA + off;
        u32[o + 1] = 0;
        u32[o + 2] = len;
        u32[o + 3] = flags;
    };
    const postTx = (off: number, len: number) => {
        const s = txAvail & (NUM - 1);
        setDesc(TX_RING, s, off, len, 0);
        txBuf[s] = off;
        u16[((TX_RING + 0x1000) >> 1) + 2 + s] = s;
        txAvail = (txAvail + 1) & 0xffff;
    };
    const postRx = (off: number) => {
        const s = rxAvail & (NUM - 1);
        setDesc(RX_RING, s, off, BUF, 2 /* WRITE */);
        rxBuf[s] = off;
        u16[((RX_RING + 0x1000) >> 1) + 2 + s] = s;
        rxAvail = (rxAvail + 1) & 0xffff;
    };
    const publish = (ring: number, idx: number) => Atomics.store(u16, ((ring + 0x1000) >> 1) + 1, idx);
    // Poll-mode driver: no interrupts wanted (testpmd sets the same flag).
    u16[(RX_RING + 0x1000) >> 1] = 1;
    u16[(TX_RING + 0x1000) >> 1] = 1;
    let b = 0;
    for (; b < frames; b++) {
        const off = pool + b * BUF;
        u8.fill(0, off, off + HDR);
        u8.set(hdr, off + HDR);
        // IPv4/UDP-looking, as testpmd's frames.
        u8[off + HDR + 12] = 0x08;
        u8[off + HDR + 13] = 0x00;
        u8[off + HDR + 14] = 0x45;
        u8[off + HDR + 23] = 17;
        postTx(off, HDR + size);
    }
    for (; b < NBUF && rxAvail < NUM; b++) postRx(pool + b * BUF);
    const free = new Int32Array(NBUF);
    let nFree = 0;
    for (; b < NBUF; b++) free[nFree++] = pool + b * BUF;
    publish(RX_RING, rxAvail);
    publish(TX_RING, txAvail);
    signalEventfd(rxKick);
    signalEventfd(txKick);
    return (): number => {
        let moved = 0;
        const rxUsed = u16[((RX_RING + 0x2000) >> 1) + 1];
        while (rxSeen !== rxUsed && ((txAvail - txSeen) & 0xffff) < NUM) {
            const e = ((RX_RING + 0x2000) >> 2) + 1 + 2 * (rxSeen & (NUM - 1));
            const off = rxBuf[u32[e]];
            const k = (off + HDR) >> 2;
            u32[k] = w0;
            u32[k + 1] = w1;
            u32[k + 2] = w2;
            postTx(off, u32[e + 1]);
            rxSeen = (rxSeen + 1) & 0xffff;
            moved++;
        }
        if (moved) {
            publish(TX_RING, txAvail);
            // The switch's queue may have gone to sleep: kick unless it says it is polling.
            if ((u16[(TX_RING + 0x2000) >> 1] & 1) === 0) signalEventfd(txKick);
        }
        const txUsed = u16[((TX_RING + 0x2000) >> 1) + 1];
        let posted = 0;
        while (txSeen !== txUsed) {
            const e = ((TX_RING + 0x2000) >> 2) + 1 + 2 * (txSeen & (NUM - 1));
            free[nFree++] = txBuf[u32[e]];
            txSeen = (txSeen + 1) & 0xffff;
        }
        // Refill RX only as far as the ring has room: with more than one queue pair, frames sent on one
        // queue come back on another, so a queue's sent buffers need not match what its RX ring used.
        while (nFree > 0 && ((rxAvail - rxSeen) & 0xffff) < NUM) {
            postRx(free[--nFree]);
            posted++;
        }
        if (posted) {
            publish(RX_RING, rxAvail);
            if ((u16[(RX_RING + 0x2000) >> 1] & 1) === 0) signalEventfd(rxKick);
        }
        return moved + posted;
    };
}

async function run(size: number, seconds: number, frames: number, queues: number): Promise<{ mpps: number; samples: number[]; flooded: number; perQueue: string }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-inline-'));
    const dp = new Datapath(process.env.INLINE_LOG ? (m) => console.error(m) : () => {});
    const fes: FakeFrontend[] = [];
    try {
        await dp.op({ op: 'add-bridge', name: 'br' });
        for (const i of [0, 1]) await dp.op({ op: 'add-vhost-port', port: `p${i}`, bridge: 'br', socket: path.join(dir, `p${i}.sock`), mode: 'server', queues });
        for (const i of [0, 1]) {
            const fe = new FakeFrontend(path.join(dir, `p${i}.sock`));
            fe.features |= bit(F.IN_ORDER);
            await fe.connect();
            await fe.setup(queues);
            fes.push(fe);
        }
        // The same frames in flight whatever the queue count, split over the queue pairs (as testpmd's tx_first does per stream).
        const steps = fes.flatMap((fe, i) => Array.from({ length: queues }, (_, q) => guestDriver(fe, MACS[i], MACS[1 - i], size, Math.ceil(frames / queues), q)));
        const guests: Pollable = {
            inPollSet: false,
            lastWork: 0,
            busyMs: 0,
            poll: () => {
                let n = 1;
                for (let k = 0; k < steps.length; k++) n += steps[k]();
                return n;
            },
            tryInterrupt: () => false,
        };
        dp.engine.wake(guests);
        const bridge = dp.engine.bridges.get('br')!;
        const samples: number[] = [];
        let last = bridge.forwarded;
        let t = performance.now();
        for (let s = 0; s < seconds + 1; s++) {
            await new Promise((r) => setTimeout(r, 1000));
            const now = performance.now();
            // The first second warms the JIT up.
            if (s > 0) samples.push((bridge.forwarded - last) / ((now - t) / 1000) / 1e6);
            last = bridge.forwarded;
            t = now;
        }
        dp.engine.forget(guests);
        const sorted = [...samples].sort((a, b) => a - b);
        const st = dp.op({ op: 'status' }) as unknown as { ports: { id: string; queues: { queue: number; rx_packets: number; mode: string }[] }[] };
        const perQueue = (await st).ports.map((p) => `${p.id}: ${p.queues.map((x) => `q${x.queue} from guest ${(x.rx_packets / 1e6).toFixed(1)}M (${x.mode})`).join(', ')}`).join('; ');
        return { mpps: sorted[Math.floor(sorted.length / 2)], samples: samples.map((x) => +x.toFixed(3)), flooded: bridge.flooded, perQueue };
    } finally {
        for (const p of ['p0', 'p1']) await dp.op({ op: 'remove-port', port: p }).catch(() => {});
        for (const fe of fes) fe.close();
        rmSync(dir, { recursive: true, force: true });
    }
}

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : d;
};
setAffinity([Number(opt('cpu', '1'))]);
const seconds = Number(opt('seconds', '6'));
const frames = Math.min(Number(opt('frames', '128')), NUM);
const queueCounts = opt('queues', '1').split(',').map(Number);
for (let round = 0; round < Number(opt('rounds', '1')); round++) {
    for (const size of opt('sizes', '64,1518').split(',').map(Number)) {
        for (const queues of queueCounts) {
            const r = await run(size, seconds, frames, queues);
            console.log(`inline switch ${String(size).padStart(4)} B q${queues}: ${r.mpps.toFixed(3)} Mpps forwarded (1-s median of ${r.samples.length}: ${r.samples.join(' ')}), ` +
                `flooded ${r.flooded}; ${frames} frames per guest, one core${queues > 1 ? `\n  ${r.perQueue}` : ''}`);
        }
    }
}
process.exit(0);
