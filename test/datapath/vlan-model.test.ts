/**
 * 802.1Q in the learning bridges against a plain model, on seeded random
 * labs: one to three bridges with patch links (loops included), end ports
 * that are access ports, trunks (with and without a native VLAN) or
 * without settings, hosts sending untagged, priority-tagged and tagged
 * frames of carried and other VLANs, ports changing their VLAN settings,
 * hosts moving, time passing (decision cache, aging). Every frame must
 * reach exactly the ports the model says, in the form it says (untagged
 * or the tag), with its PCP kept, and every ingress drop must be counted
 * under its reason.
 */
import { describe, expect, it } from 'vitest';
import type { VlanPlan } from '../../src/core/plan.js';
import { PatchPort } from '../../src/datapath/ports/patch-port.js';
import { Engine } from '../../src/datapath/switch/engine.js';
import { Port, type PortReport } from '../../src/datapath/switch/port.js';
import { Frame } from '../../src/datapath/virtio/frame.js';
import { rng } from '../support/rng.js';

const AGING_MS = 40;
const MAX_HOPS = 8;
const LEN = 64;

interface Got {
    id: number;
    /** -1 untagged, else the tag's VID. */
    tag: number;
    pcp: number;
    len: number;
}

class EndPort extends Port {
    got: Got[] = [];
    transmit(f: Frame): void {
        const u8 = f.mem.u8;
        const o = f.off;
        const tagged = u8[o + 12] === 0x81 && u8[o + 13] === 0;
        const tci = tagged ? (u8[o + 14] << 8) | u8[o + 15] : 0;
        // The frame's id is in its last four bytes, wherever a tag moved them.
        const id = new DataView(u8.buffer, u8.byteOffset).getUint32(o + f.len - 4, true);
        this.got.push({ id, tag: tagged ? tci & 0xfff : -1, pcp: tci >> 13, len: f.len });
    }
    report(): PortReport {
        return this.baseReport('tap', 'up', []);
    }
    close(): void {}
}

// ---- the model: what 802.1Q says, with none of the switch's caches or encodings ----

type Cfg = VlanPlan | undefined;

/** The VLAN a frame enters in, or the drop reason. */
function classify(cfg: Cfg, tag: number): number | string {
    if (!cfg) return tag < 0 ? 0 : tag;
    if (cfg.mode === 'access') return tag > 0 ? 'vlan-tagged' : cfg.tag;
    if (tag > 0) return cfg.trunks.includes(tag) || cfg.native === tag ? tag : 'vlan-not-allowed';
    return cfg.native ?? 'vlan-untagged';
}
function carries(cfg: Cfg, vid: number): boolean {
    if (!cfg) return true;
    if (cfg.mode === 'access') return vid === cfg.tag;
    return vid !== 0 && (cfg.trunks.includes(vid) || cfg.native === vid);
}
/** The tag a frame of VLAN vid leaves with (-1 untagged); `came`: its tag as it entered. */
function leaves(cfg: Cfg, vid: number, came: number): number {
    if (!cfg) return vid === 0 ? came : vid;
    if (cfg.mode === 'access' || cfg.native === vid) return -1;
    return vid;
}

class ModelBridge {
    ports: string[] = [];
    macs = new Map<string, { port: string; seen: number }>();
    constructor(readonly name: string) {}
}

interface Lab {
    bridges: ModelBridge[];
    patches: Map<string, [ModelBridge, ModelBridge, string]>;
    ends: Map<string, ModelBridge>;
    cfg: Map<string, Cfg>;
    drops: Map<string, Record<string, number>>;
}

interface Want { port: string; tag: number }

function modelInput(lab: Lab, b: ModelBridge, src: string, dst: string, srcMac: string, tag: number, now: number, hops: number, out: Want[]): void {
    const vid = classify(lab.cfg.get(src), tag);
    if (typeof vid === 'string') {
        const d = lab.drops.get(src) ?? {};
        d[vid] = (d[vid] ?? 0) + 1;
        lab.drops.set(src, d);
        return;
    }
    if ((parseInt(srcMac.slice(0, 2), 16) & 1) === 0) b.macs.set(`${vid}/${srcMac}`, { port: src, seen: now });
    const known = (parseInt(dst.slice(0, 2), 16) & 1) === 0 ? b.macs.get(`${vid}/${dst}`) : undefined;
    let targets: string[];
    if (known && now - known.seen <= AGING_MS && b.ports.includes(known.port)) targets = known.port === src ? [] : [known.port];
    else targets = b.ports.filter((p) => p !== src);
    for (const t of targets) {
        const cfg = lab.cfg.get(t);
        if (!carries(cfg, vid)) continue;
        const leavesWith = leaves(cfg, vid, tag);
        const patch = lab.patches.get(t);
        if (!patch) {
            out.push({ port: t, tag: leavesWith });
            continue;
        }
        if (hops + 1 > MAX_HOPS) continue;
        modelInput(lab, patch[1], patch[2], dst, srcMac, leavesWith, now, hops + 1, out);
    }
}

const mac = (n: number) => `02000000${n.toString(16).padStart(4, '0')}`;
const BCAST = 'ffffffffffff';
const MCAST = '01005e000001';
const VIDS = [10, 20, 30];

function randomCfg(r: () => number): Cfg {
    const x = r();
    const pick = () => VIDS[Math.floor(r() * VIDS.length)];
    if (x < 0.25) return undefined;
    if (x < 0.6) return { mode: 'access', tag: pick() };
    const trunks = [...new Set([pick(), pick()])].sort((a, b) => a - b);
    return r() < 0.5 ? { mode: 'trunk', trunks } : { mode: 'trunk', trunks, native: pick() };
}

describe('802.1Q bridges against a model', () => {
    for (const seed of [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]) {
        it(`seed ${seed}: every frame reaches exactly the ports, in the form, the model says; drops counted by reason`, () => {
            const r = rng(seed);
            const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
            const e = new Engine();
            const lab: Lab = { bridges: [], patches: new Map(), ends: new Map(), cfg: new Map(), drops: new Map() };
            const real = new Map<string, Port>();
            const nBridges = 1 + Math.floor(r() * 3);
            for (let i = 0; i < nBridges; i++) {
                e.addBridge(`b${i}`, 1500, AGING_MS);
                lab.bridges.push(new ModelBridge(`b${i}`));
            }
            const links: [number, number][] = [];
            for (let i = 1; i < nBridges; i++) links.push([i - 1, i]);
            if (nBridges > 1 && r() < 0.5) links.push([0, nBridges - 1]);
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
            for (let i = 0; i < 7; i++) {
                const b = i % nBridges;
                const p = new EndPort(`e${i}`);
                e.addPort(p, e.bridges.get(`b${b}`)!);
                const cfg = randomCfg(r);
                p.setVlan(cfg);
                lab.cfg.set(p.id, cfg);
                real.set(p.id, p);
                lab.ends.set(p.id, lab.bridges[b]);
                lab.bridges[b].ports.push(p.id);
            }
            const hostAt = Array.from({ length: 10 }, (_, h) => `e${h % 7}`);
            const buf = new ArrayBuffer(256);
            const u8 = new Uint8Array(buf);
            const f = new Frame();
            f.mem = { u8, i32: new Int32Array(buf), addr: 0 };
            let now = 1000;
            let delivered = 0;
            for (let id = 0; id < 5000; id++) {
                const step = r();
                now += step < 0.5 ? 0 : step < 0.9 ? 0.4 : step < 0.98 ? 5 : 60;
                e.now = now;
                if (r() < 0.05) hostAt[Math.floor(r() * hostAt.length)] = pick([...real.keys()]);
                if (r() < 0.01) {
                    // New VLAN settings: the bridge forgets what it learned behind the port.
                    const p = real.get(pick([...real.keys()]))!;
                    const cfg = randomCfg(r);
                    p.setVlan(cfg);
                    lab.cfg.set(p.id, cfg);
                    const mb = lab.ends.get(p.id)!;
                    for (const [m, v] of mb.macs) if (v.port === p.id) mb.macs.delete(m);
                }
                const h = Math.floor(r() * hostAt.length);
                const src = hostAt[h];
                const d = r();
                const dst = d < 0.1 ? BCAST : d < 0.14 ? MCAST : d < 0.2 ? mac(500 + Math.floor(r() * 3)) : mac(Math.floor(r() * hostAt.length));
                // Mostly what the port expects; now and then a tag it does not carry, or a priority tag.
                const t = r();
                const cfg = lab.cfg.get(src);
                const tag = t < 0.4 ? -1 : t < 0.45 ? 0 : t < 0.55 ? 40 : cfg?.mode === 'trunk' ? pick(cfg.trunks) : pick(VIDS);
                const pcp = Math.floor(r() * 8);
                const off = r() < 0.8 ? 0 : 2;
                u8.fill(0);
                u8.set(Buffer.from(dst, 'hex'), off);
                u8.set(Buffer.from(mac(h), 'hex'), off + 6);
                if (tag >= 0) {
                    u8[off + 12] = 0x81;
                    const tci = (pcp << 13) | tag;
                    u8[off + 14] = tci >> 8;
                    u8[off + 15] = tci & 0xff;
                }
                new DataView(buf).setUint32(off + LEN - 4, id, true);
                f.off = off;
                f.len = LEN;
                f.hops = 0;
                f.hash = -1;
                const want: Want[] = [];
                modelInput(lab, lab.ends.get(src)!, src, dst, mac(h), tag, now, 0, want);
                for (const p of real.values()) (p as EndPort).got.length = 0;
                const port = real.get(src)!;
                port.bridge!.input(port, f);
                const got = [...real.values()].flatMap((p) => (p as EndPort).got.filter((x) => x.id === id).map((x) => ({ port: p.id, tag: x.tag, pcp: x.pcp, len: x.len })));
                const key = (w: { port: string; tag: number }) => `${w.port}:${w.tag}`;
                const what = `seed ${seed} frame ${id}: ${mac(h)} on ${src} (${JSON.stringify(cfg ?? 'none')}) tag ${tag} → ${dst}`;
                expect(got.map(key).sort(), what).toEqual(want.map(key).sort());
                for (const g of got) {
                    // The PCP travels with the frame (untagged ingress: 0); the length follows the tag.
                    if (g.tag >= 0) expect(g.pcp, what).toBe(tag >= 0 ? pcp : 0);
                    expect(g.len, what).toBe(LEN + (g.tag >= 0 ? 4 : 0) - (tag >= 0 ? 4 : 0));
                }
                delivered += got.length;
            }
            for (const [id, p] of real) {
                const want = lab.drops.get(id) ?? {};
                const vlanDrops = Object.fromEntries(Object.entries(p.dropsByReason).filter(([k]) => k.startsWith('vlan-')));
                expect(vlanDrops, `seed ${seed}: drops of ${id}`).toEqual(want);
            }
            expect(delivered).toBeGreaterThan(1000);
        });
    }
});
