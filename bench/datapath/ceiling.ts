/**
 * A synthetic ceiling for the embedded datapath (not a test; prints
 * figures): the switch's own per-packet work — SplitRing walk of a guest TX
 * chain, frameFromTxChain, RxWriter copy into a guest RX buffer, used-ring
 * publish — with no vhost-user protocol, no bridge, no MAC table, no
 * counters, no scheduler. The gap between this and bench/datapath/loop.ts
 * (or compare.ts) is what switching and the process around it cost.
 *
 * Layout mirrors the loop bench on 2 cores: a worker thread on cpu0 plays
 * the guest driver (like testpmd io forwarding: every frame received on the
 * RX ring is sent straight back on the TX ring, zero-copy, and every TX
 * buffer the device completes is reposted as an RX buffer), on a memfd
 * shared like guest RAM; the main thread on cpu1 is the device, built from
 * the project's own ring code. A fixed population of frames circulates.
 *
 * By default the guest never touches frame data, so no frame line crosses
 * cores. `--touch 1` makes it rewrite each frame's MAC pair before sending
 * it back, as testpmd's mac forwarding in the loop and compare benches
 * does: the device's first read of every frame then misses, as it does
 * behind a real generator.
 *
 * `--inline 1` runs the guest's work between the device's batches on one
 * core instead: no cross-core traffic and no second thread, so the figure
 * moves with the device's own instructions and little else (for A/B runs
 * of hot-path changes; the host's noise swamps them in the two-core runs).
 *
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/datapath/ceiling.ts [--seconds 10] [--sizes 64,1518] [--frames 256] [--gpa-base 0x100000000] [--touch 0|1] [--inline 0|1]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { mapShared, memfd } from '../../src/datapath/sys/memory.js';
import { setAffinity } from '../../src/datapath/sys/netdev.js';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { GuestMemory, regionFromBuffer, type FrameBuffer } from '../../src/datapath/virtio/guest-memory.js';
import { frameFromOne, frameFromTxChain, RxWriter } from '../../src/datapath/virtio/net.js';
import { Chain, SplitRing } from '../../src/datapath/virtio/split-ring.js';

const NUM = 256;
const HDR = 12;
const BUF = 2048;
// Guest-physical layout (gpa = file offset): two rings, then the buffer pool.
const TX = { desc: 0x0000, avail: 0x1000, used: 0x2000 };
const RX = { desc: 0x4000, avail: 0x5000, used: 0x6000 };
const POOL = 0x10000;
const NBUF = 2 * NUM;
const SIZE = POOL + NBUF * BUF;

interface Shared {
    fd: number;
    /** Guest-physical address of file offset 0 (testpmd's virtio-user uses its virtual addresses, above 4 GiB). */
    gpaBase: number;
    size: number;
    frames: number;
    /** Rewrite each frame's 12 MAC bytes before sending it back (mac forwarding). */
    touch: boolean;
    ctl: SharedArrayBuffer;
}

/** The guest driver: io forwarding over one ring pair, in-order descriptors (slot = avail index & mask). */
function guestDriver(w: Shared): { step: () => void; close: () => void } {
    const m = mapShared(w.fd, w.size, 0);
    const dv = new DataView(m.buffer);
    const u16 = new Uint16Array(m.buffer);
    const u32 = new Uint32Array(m.buffer);
    const ctl = new Int32Array(w.ctl);
    // Buffer address per descriptor slot of each ring.
    const txBuf = new Float64Array(NUM);
    const rxBuf = new Float64Array(NUM);
    let txAvail = 0;
    let rxAvail = 0;
    let txSeen = 0;
    let rxSeen = 0;
    const setDesc = (table: number, i: number, addr: number, len: number, flags: number) => {
        const o = table + 16 * i;
        const gpa = w.gpaBase + addr;
        u32[o >> 2] = gpa >>> 0;
        u32[(o >> 2) + 1] = Math.floor(gpa / 4294967296);
        u32[(o >> 2) + 2] = len;
        u32[(o >> 2) + 3] = flags;
    };
    const postTx = (addr: number, len: number) => {
        const s = txAvail & (NUM - 1);
        setDesc(TX.desc, s, addr, len, 0);
        txBuf[s] = addr;
        u16[(TX.avail >> 1) + 2 + s] = s;
        txAvail = (txAvail + 1) & 0xffff;
    };
    const postRx = (addr: number) => {
        const s = rxAvail & (NUM - 1);
        setDesc(RX.desc, s, addr, BUF, 2 /* WRITE */);
        rxBuf[s] = addr;
        u16[(RX.avail >> 1) + 2 + s] = s;
        rxAvail = (rxAvail + 1) & 0xffff;
    };
    // The initial frames: zero virtio-net header, then an Ethernet/IPv4/UDP-looking frame.
    let b = 0;
    for (; b < w.frames; b++) {
        const a = POOL + b * BUF;
        for (let k = 0; k < HDR; k++) dv.setUint8(a + k, 0);
        for (let k = 0; k < 64; k++) dv.setUint8(a + HDR + k, k);
        postTx(a, HDR + Atomics.load(ctl, 1));
    }
    for (; b < NBUF && ((rxAvail - 0) & 0xffff) < NUM; b++) postRx(POOL + b * BUF);
    Atomics.store(u16, (RX.avail >> 1) + 1, rxAvail);
    Atomics.store(u16, (TX.avail >> 1) + 1, txAvail);
    Atomics.store(ctl, 2, 1); // ready
    const step = () => {
        // Frames the device delivered go straight back out (zero-copy, like io forwarding).
        const rxUsed = u16[(RX.used >> 1) + 1];
        let moved = false;
        while (rxSeen !== rxUsed && ((txAvail - txSeen) & 0xffff) < NUM) {
            const e = (RX.used >> 2) + 1 + 2 * (rxSeen & (NUM - 1));
            const id = u32[e];
            if (w.touch) {
                const k = (rxBuf[id] + HDR) >> 2;
                u32[k] = rxSeen;
                u32[k + 1] = rxSeen;
                u32[k + 2] = rxSeen;
            }
            postTx(rxBuf[id], u32[e + 1]);
            rxSeen = (rxSeen + 1) & 0xffff;
            moved = true;
        }
        if (moved) Atomics.store(u16, (TX.avail >> 1) + 1, txAvail);
        moved = false;
        const txUsed = u16[(TX.used >> 1) + 1];
        while (txSeen !== txUsed) {
            const e = (TX.used >> 2) + 1 + 2 * (txSeen & (NUM - 1));
            postRx(txBuf[u32[e]]);
            txSeen = (txSeen + 1) & 0xffff;
            moved = true;
        }
        if (moved) Atomics.store(u16, (RX.avail >> 1) + 1, rxAvail);
    };
    return { step, close: () => m.unmap() };
}

function guest(w: Shared): void {
    setAffinity([0]);
    const g = guestDriver(w);
    const ctl = new Int32Array(w.ctl);
    while (Atomics.load(ctl, 0) === 0) g.step();
    g.close();
}

async function device(size: number, seconds: number, frames: number, gpaBase: number, touch: boolean, inline: boolean): Promise<{ mpps: number; samples: number[] }> {
    const fd = memfd('vtopo-ceiling', SIZE);
    const m = mapShared(fd, SIZE, 0);
    new Uint8Array(m.buffer).fill(0);
    const ctl = new SharedArrayBuffer(16);
    const c = new Int32Array(ctl);
    c[1] = size;
    // Workers do not inherit tsx's loader hooks: register them before importing this file.
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const shared: Shared = { fd, gpaBase, size: SIZE, frames, touch, ctl };
    // Inline: the guest's work runs between the device's batches on the same core (no cross-core traffic at all).
    const inlineGuest = inline ? guestDriver(shared) : undefined;
    const wk = inline ? undefined : new Worker(boot, { eval: true, workerData: shared });
    const exited = wk ? new Promise((r) => wk.once('exit', r)) : Promise.resolve();
    wk?.on('error', (e) => console.error(`guest worker: ${e.stack ?? e}`));
    while (Atomics.load(c, 2) === 0) await new Promise((r) => setTimeout(r, 10));
    setAffinity([1]);
    const mem = new GuestMemory([regionFromBuffer(m.buffer, m.addr, gpaBase, SIZE, 0x7f0000000000, 0, m)]);
    const at = (r: typeof TX) => ({ desc: gpaBase + r.desc, avail: gpaBase + r.avail, used: gpaBase + r.used });
    const tx = SplitRing.create(mem, NUM, at(TX)) as SplitRing;
    const rx = SplitRing.create(mem, NUM, at(RX)) as SplitRing;
    const chain = new Chain();
    const writer = new RxWriter(new Chain());
    const frame = new Frame();
    const scratchBuf = new ArrayBuffer(65536);
    const scratch: FrameBuffer = { mem: { u8: new Uint8Array(scratchBuf), i32: new Int32Array(scratchBuf), addr: 0 }, off: 0, len: 65536 };
    let forwarded = 0;
    const samples: number[] = [];
    const end = performance.now() + (seconds + 2) * 1000;
    let t0 = performance.now();
    let f0 = 0;
    let warm = true;
    // Batches as the switch takes them (64); the clock every 32 batches.
    for (let round = 0; ; round++) {
        let n = tx.pending();
        if (n > 64) n = 64;
        for (let k = 0; k < n; k++) {
            const head = tx.takeHead();
            // As the vhost port does: the one-descriptor fast path, else the full walk.
            if (!frameFromOne(tx, tx.walkOne(head, false), HDR, frame)) {
                if (tx.walk(head, chain, false) !== 0) throw new Error('walk');
                if (frameFromTxChain(tx, chain, HDR, frame, () => scratch) !== 0) throw new Error('frame');
            }
            const r = writer.write(rx, frame, HDR, true);
            if (r <= 0) {
                // No RX room: give the TX chain back and retry later (a switch would queue it).
                tx.rewind((tx.lastAvail - 1) & 0xffff);
                break;
            }
            tx.pushUsed(head, 0);
            forwarded++;
        }
        tx.publish();
        rx.publish();
        inlineGuest?.step();
        if ((round & 31) === 0) {
            const t = performance.now();
            if (t - t0 >= 1000) {
                if (!warm) samples.push((forwarded - f0) / ((t - t0) / 1000) / 1e6);
                warm = false;
                t0 = t;
                f0 = forwarded;
                if (t > end) break;
                // Let the event loop breathe (worker errors, timers) once a second.
                await new Promise((r) => setImmediate(r));
            }
        }
    }
    Atomics.store(c, 0, 1);
    await exited;
    inlineGuest?.close();
    m.unmap();
    closeFd(fd);
    const sorted = [...samples].sort((a, b) => a - b);
    return { mpps: sorted[Math.floor(sorted.length / 2)], samples: samples.map((s) => +s.toFixed(3)) };
}

if (!isMainThread) {
    guest(workerData as Shared);
    parentPort?.close();
} else {
    const argv = process.argv.slice(2);
    const opt = (k: string, d: string) => {
        const i = argv.indexOf(`--${k}`);
        return i >= 0 ? argv[i + 1] : d;
    };
    const seconds = Number(opt('seconds', '10'));
    const frames = Number(opt('frames', '256'));
    const gpaBase = Number(opt('gpa-base', '0'));
    const touch = opt('touch', '0') === '1';
    const inline = opt('inline', '0') === '1';
    for (const size of opt('sizes', '64,1518').split(',').map(Number)) {
        const r = await device(size, seconds, Math.min(frames, NUM), gpaBase, touch, inline);
        console.log(`ceiling ${String(size).padStart(4)} B${gpaBase ? ` (gpa base 0x${gpaBase.toString(16)})` : ''}${touch ? ' (guest rewrites MACs)' : ''}: ${r.mpps.toFixed(3)} Mpps (1-s median of ${r.samples.length}: ${r.samples.join(' ')})  ring walk + copy only, one ring pair, ${inline ? 'guest and device in turn on cpu1' : 'guest worker on cpu0, device on cpu1'}`);
    }
}
