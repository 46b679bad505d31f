/**
 * The learning bridges against a plain model of L2 switching, on seeded
 * random labs: two or three bridges, patch links between them (loops
 * included), end ports with hosts behind them, frames unicast to known
 * and unknown hosts, broadcast and multicast, hosts moving between ports,
 * ports removed, time moving in steps (so the per-port decision cache of
 * Bridge.input is hit within its millisecond and MACs age out). Every
 * frame must reach exactly the ports the model says, as many times.
 */
import { describe, expect, it } from 'vitest';
import { PatchPort } from '../../src/datapath/ports/patch-port.js';
import { Engine } from '../../src/datapath/switch/engine.js';
import { Port, type PortReport } from '../../src/datapath/switch/port.js';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { rng } from '../support/rng.js';

const AGING_MS = 40;
const MAX_HOPS = 8;

class EndPort extends Port {
    got: number[] = [];
    transmit(f: Frame): void {
        // The frame's id is in its payload.
        this.got.push(new DataView(f.mem.u8.buffer, f.mem.u8.byteOffset).getUint32(f.off + 14, true));
    }
    report(): PortReport {
        return this.baseReport('tap', 'up', []);
    }
    close(): void {}
}

/** The model: what an L2 learning bridge does, with none of the switch's caches. */
class ModelBridge {
    ports: string[] = [];
    macs = new Map<string, { port: string; seen: number }>();
    constructor(readonly name: string) {}
}

interface Lab {
    bridges: ModelBridge[];
    /** Patch port id → [its bridge, the peer's bridge, the peer's id]. */
    patches: Map<string, [ModelBridge, ModelBridge, string]>;
    ends: Map<string, ModelBridge>;
}

function modelInput(lab: Lab, b: ModelBridge, src: string, dst: string, srcMac: string, now: number, hops: number, out: string[]): void {
    if ((parseInt(srcMac.slice(0, 2), 16) & 1) === 0) b.macs.set(srcMac, { port: src, seen: now });
    let targets: string[];
    const known = (parseInt(dst.slice(0, 2), 16) & 1) === 0 ? b.macs.get(dst) : undefined;
    if (known && now - known.seen <= AGING_MS && b.ports.includes(known.port)) targets = known.port === src ? [] : [known.port];
    else targets = b.ports.filter((p) => p !== src);
    for (const t of targets) {
        const patch = lab.patches.get(t);
        if (!patch) {
            out.push(t);
            continue;
        }
        if (hops + 1 > MAX_HOPS) continue;
        modelInput(lab, patch[1], patch[2], dst, srcMac, now, hops + 1, out);
    }
}

const mac = (n: number) => `02000000${n.toString(16).padStart(4, '0')}`;
const BCAST = 'ffffffffffff';
const MCAST = '01005e000001';

describe('learning bridges against a model', () => {
    for (const seed of [21, 22, 23, 24, 25, 26, 27, 28]) {
        it(`seed ${seed}: every frame reaches exactly the ports the model says`, () => {
            const r = rng(seed);
            const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
            const e = new Engine();
            const lab: Lab = { bridges: [], patches: new Map(), ends: new Map() };
            const real = new Map<string, Port>();
            const nBridges = 2 + Math.floor(r() * 2);
            for (let i = 0; i < nBridges; i++) {
                e.addBridge(`b${i}`, 1500, AGING_MS);
                lab.bridges.push(new ModelBridge(`b${i}`));
            }
            // Links: a chain, and with luck one more (a loop with three bridges, a parallel link with two).
            const links: [number, number][] = [];
            for (let i = 1; i < nBridges; i++) links.push([i - 1, i]);
            if (r() < 0.5) links.push([0, nBridges - 1]);
            links.forEach(([a, b], k) => {
                const pa = new PatchPort(`link:${k}:a`);
                const pb = new PatchPort(`link:${k}:b`);
                pa.peer = pb;
                pb.peer = pa;
                e.addPort(pa, e.bridges.get(`b${a}`)!);
                e.addPort(pb, e.bridges.get(`b${b}`)!);
                lab.bridges[a].ports.push(pa.id);
                lab.bridges[b].ports.push(pb.id);
                lab.patches.set(pa.id, [lab.bridges[a], lab.bridges[b], pb.id]);
                lab.patches.set(pb.id, [lab.bridges[b], lab.bridges[a], pa.id]);
            });
            for (let i = 0; i < 6; i++) {
                const b = i % nBridges;
                const p = new EndPort(`e${i}`);
                e.addPort(p, e.bridges.get(`b${b}`)!);
                real.set(p.id, p);
                lab.ends.set(p.id, lab.bridges[b]);
                lab.bridges[b].ports.push(p.id);
            }
            // Hosts (MACs) behind end ports; they move now and then.
            const hostAt = Array.from({ length: 10 }, (_, h) => `e${h % 6}`);
            const buf = new ArrayBuffer(128);
            const u8 = new Uint8Array(buf);
            const f = new Frame();
            f.mem = { u8, i32: new Int32Array(buf), addr: 0 };
            let now = 1000;
            for (let id = 0; id < 4000; id++) {
                const step = r();
                now += step < 0.5 ? 0 : step < 0.9 ? 0.4 : step < 0.98 ? 5 : 60;
                e.now = now;
                if (r() < 0.05) hostAt[Math.floor(r() * hostAt.length)] = pick([...real.keys()]);
                if (r() < 0.004 && real.size > 2) {
                    const gone = pick([...real.keys()]);
                    e.removePort(real.get(gone)!);
                    real.delete(gone);
                    const mb = lab.ends.get(gone)!;
                    mb.ports = mb.ports.filter((p) => p !== gone);
                    for (const [m, v] of mb.macs) if (v.port === gone) mb.macs.delete(m);
                    for (let h = 0; h < hostAt.length; h++) if (hostAt[h] === gone) hostAt[h] = pick([...real.keys()]);
                }
                const h = Math.floor(r() * hostAt.length);
                const src = hostAt[h];
                const d = r();
                const dst = d < 0.08 ? BCAST : d < 0.12 ? MCAST : d < 0.2 ? mac(500 + Math.floor(r() * 3)) : mac(Math.floor(r() * hostAt.length));
                const off = r() < 0.8 ? 0 : 2;
                u8.fill(0);
                u8.set(Buffer.from(dst, 'hex'), off);
                u8.set(Buffer.from(mac(h), 'hex'), off + 6);
                new DataView(buf).setUint32(off + 14, id, true);
                f.off = off;
                f.len = 60;
                f.hops = 0;
                f.hash = -1;
                const want: string[] = [];
                modelInput(lab, lab.ends.get(src)!, src, dst, mac(h), now, 0, want);
                for (const p of real.values()) (p as EndPort).got.length = 0;
                const port = real.get(src)!;
                port.bridge!.input(port, f);
                const got = [...real.values()].flatMap((p) => (p as EndPort).got.filter((x) => x === id).map(() => p.id));
                expect(got.sort(), `seed ${seed} frame ${id}: ${mac(h)} on ${src} → ${dst}`).toEqual(want.sort());
            }
        });
    }
});
