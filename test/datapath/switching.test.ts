import { describe, expect, it } from 'vitest';
import { Bridge } from '../../src/datapath/switch/bridge.js';
import { Engine } from '../../src/datapath/switch/engine.js';
import { MacTable } from '../../src/datapath/switch/mac-table.js';
import { Port, type PortReport } from '../../src/datapath/switch/port.js';
import { flowHash, indirectionTable, RETA_SIZE, toeplitz } from '../../src/datapath/switch/rss.js';
import { PatchPort } from '../../src/datapath/ports/patch-port.js';
import { Frame } from '../../src/datapath/virtio/frame.js';

const ip4 = (s: string) => s.split('.').map(Number);
const be16 = (n: number) => [n >> 8, n & 0xff];

describe('Toeplitz RSS', () => {
    // Verification vectors from Microsoft's RSS specification (default key).
    const vectors = [
        { src: '66.9.149.187', sport: 2794, dst: '161.142.100.80', dport: 1766, l4: 0x51ccc178, l3: 0x323e8fc2 },
        { src: '199.92.111.2', sport: 14230, dst: '65.69.140.83', dport: 4739, l4: 0xc626b0ea, l3: 0xd718262a },
        { src: '24.19.198.95', sport: 12898, dst: '12.22.207.184', dport: 38024, l4: 0x5c2b394a, l3: 0xd2d0a5de },
        { src: '38.27.205.30', sport: 48228, dst: '209.142.163.6', dport: 2217, l4: 0xafc7327f, l3: 0x82989176 },
        { src: '153.39.163.191', sport: 44251, dst: '202.188.127.2', dport: 1303, l4: 0x10e828a2, l3: 0x5d1809c5 },
    ];
    it('matches the specification vectors (IPv4 and IPv4+TCP)', () => {
        for (const v of vectors) {
            const l3 = Uint8Array.from([...ip4(v.src), ...ip4(v.dst)]);
            const l4 = Uint8Array.from([...l3, ...be16(v.sport), ...be16(v.dport)]);
            expect(toeplitz(l3, 0, 8)).toBe(v.l3);
            expect(toeplitz(l4, 0, 12)).toBe(v.l4);
        }
    });

    function udpFrame(src: string, dst: string, sport: number, dport: number, vlan = false): Frame {
        const eth = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...(vlan ? [0x81, 0, 0, 5] : []), 0x08, 0x00];
        const ip = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, ...ip4(src), ...ip4(dst)];
        const udp = [...be16(sport), ...be16(dport), 0, 8, 0, 0];
        const u8 = new Uint8Array(64);
        u8.set([...eth, ...ip, ...udp]);
        const f = new Frame();
        f.mem = { u8, i32: new Int32Array(u8.buffer), addr: 0 };
        f.off = 0;
        f.len = 64;
        return f;
    }

    it('hashes a frame by its 4-tuple, through a VLAN tag, and caches the result', () => {
        const v = vectors[0];
        const f = udpFrame(v.src, v.dst, v.sport, v.dport);
        expect(flowHash(f)).toBe(v.l4);
        expect(f.hash).toBe(v.l4);
        expect(flowHash(udpFrame(v.src, v.dst, v.sport, v.dport, true))).toBe(v.l4);
        expect(flowHash(udpFrame(v.src, v.dst, v.sport + 1, v.dport))).not.toBe(v.l4);
    });

    it('a burst of one flow reuses the last hash, and any other flow in between is hashed afresh', () => {
        // Interleaved: the one-entry cache must never answer for a different tuple.
        for (const order of [[0, 0, 1, 0, 2, 2, 1, 0], [4, 3, 4, 3, 0, 4]]) {
            for (const i of order) {
                const v = vectors[i];
                expect(flowHash(udpFrame(v.src, v.dst, v.sport, v.dport)), `vector ${i}`).toBe(v.l4);
            }
        }
        // A tuple of all zero bytes is a tuple like any other.
        expect(flowHash(udpFrame('0.0.0.0', '0.0.0.0', 0, 0))).toBe(0);
        expect(flowHash(udpFrame(vectors[1].src, vectors[1].dst, vectors[1].sport, vectors[1].dport))).toBe(vectors[1].l4);
    });

    it('gives the same hash on every path: unaligned, with IP options, fragments, other header bytes', () => {
        const v = vectors[2];
        // The word-load path needs a word-aligned frame; at offset 2 the byte path answers.
        const g = udpFrame(v.src, v.dst, v.sport, v.dport);
        const u8 = new Uint8Array(68);
        u8.set(g.mem.u8.subarray(0, 64), 2);
        const un = new Frame();
        un.mem = { u8, i32: new Int32Array(u8.buffer), addr: 0 };
        un.off = 2;
        un.len = 64;
        expect(flowHash(un)).toBe(v.l4);
        // Bytes outside the 4-tuple (IP id, TTL, checksum, UDP length) do not change it.
        const h = udpFrame(v.src, v.dst, v.sport, v.dport);
        h.mem.u8.set([0x12, 0x34], 18);
        h.mem.u8.set([7, 17, 0xab, 0xcd], 22);
        h.mem.u8.set([0, 9], 38);
        expect(flowHash(h)).toBe(v.l4);
        // One byte of each field differing: a different tuple, never the cached hash.
        for (const at of [27, 28, 32, 33, 35, 37]) {
            const d = udpFrame(v.src, v.dst, v.sport, v.dport);
            d.mem.u8[at] ^= 0x40;
            expect(flowHash(d), `byte ${at}`).not.toBe(v.l4);
        }
        // A fragment carries no ports: the address-pair hash.
        const frag = udpFrame(v.src, v.dst, v.sport, v.dport);
        frag.mem.u8[20] = 0x20; // MF
        expect(flowHash(frag)).toBe(v.l3);
        // IP options move the ports: IHL 6, four option bytes before UDP.
        const o = udpFrame(v.src, v.dst, v.sport, v.dport);
        const b = o.mem.u8;
        b.copyWithin(38, 34, 60);
        b[14] = 0x46;
        b.set([1, 1, 1, 1], 34);
        expect(flowHash(o)).toBe(v.l4);
        // And TCP hashes like UDP.
        const t = udpFrame(v.src, v.dst, v.sport, v.dport);
        t.mem.u8[23] = 6;
        expect(flowHash(t)).toBe(v.l4);
    });
});

describe('Toeplitz RSS over IPv6', () => {
    // Microsoft's RSS verification suite, IPv6 table ("Verifying the RSS Hash
    // Calculation", learn.microsoft.com/windows-hardware/drivers/network/
    // verifying-the-rss-hash-calculation), default 40-byte key; the same
    // vectors are in DPDK's app/test/test_thash.c (v6_tbl).
    const vectors = [
        { src: '3ffe:2501:200:1fff::7', sport: 2794, dst: '3ffe:2501:200:3::1', dport: 1766, l3: 0x2cc18cd5, l4: 0x40207d3d },
        { src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, dst: 'ff02::1', dport: 4739, l3: 0x0f0c461c, l4: 0xdde51bbf },
        { src: '3ffe:1900:4545:3:200:f8ff:fe21:67cf', sport: 44251, dst: 'fe80::200:f8ff:fe21:67cf', dport: 38024, l3: 0x4b61e985, l4: 0x02d1feef },
    ];

    /** The 16 bytes of an IPv6 address (with `::` compression). */
    function ip6(s: string): number[] {
        const [head, tail] = s.split('::');
        const words = (x: string | undefined) => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
        const h = words(head);
        const t = words(tail);
        const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
        expect(all).toHaveLength(8);
        return all.flatMap(be16);
    }

    it('matches the specification vectors (IPv6 and IPv6+TCP)', () => {
        expect(ip6('fe80::200:f8ff:fe21:67cf')).toEqual([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf]);
        for (const v of vectors) {
            const l3 = Uint8Array.from([...ip6(v.src), ...ip6(v.dst)]);
            const l4 = Uint8Array.from([...l3, ...be16(v.sport), ...be16(v.dport)]);
            expect(toeplitz(l3, 0, 32)).toBe(v.l3);
            expect(toeplitz(l4, 0, 36)).toBe(v.l4);
        }
    });

    function v6Frame(src: string, dst: string, nh: number, sport: number, dport: number, payload = 0, vlan = false): Frame {
        const eth = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...(vlan ? [0x81, 0, 0, 5] : []), 0x86, 0xdd];
        const l4 = nh === 6
            ? [...be16(sport), ...be16(dport), 0, 0, 0, payload, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]
            : [...be16(sport), ...be16(dport), 0, 8, 0, payload];
        const ip = [0x60, 0, 0, 0, ...be16(l4.length), nh, 64, ...ip6(src), ...ip6(dst)];
        const u8 = new Uint8Array(128);
        u8.set([...eth, ...ip, ...l4]);
        const f = new Frame();
        f.mem = { u8, i32: new Int32Array(u8.buffer), addr: 0 };
        f.off = 0;
        f.len = eth.length + ip.length + l4.length;
        return f;
    }

    it('hashes IPv6 TCP and UDP frames by their 4-tuple and other IPv6 by the addresses', () => {
        for (const v of vectors) {
            expect(flowHash(v6Frame(v.src, v.dst, 6, v.sport, v.dport))).toBe(v.l4);
            expect(flowHash(v6Frame(v.src, v.dst, 17, v.sport, v.dport))).toBe(v.l4);
            expect(flowHash(v6Frame(v.src, v.dst, 17, v.sport, v.dport, 0, true))).toBe(v.l4);
            expect(flowHash(v6Frame(v.src, v.dst, 58, 0x8000, 0))).toBe(v.l3); // ICMPv6: addresses only
        }
    });

    it('sends every frame of one IPv6 flow to one queue, and spreads flows', () => {
        const v = vectors[0];
        const queues = 4;
        // Two frames of one TCP flow differing past the 4-tuple (sequence number, length).
        const f1 = v6Frame(v.src, v.dst, 6, v.sport, v.dport, 1);
        const f2 = v6Frame(v.src, v.dst, 6, v.sport, v.dport, 2);
        f2.len += 16;
        expect(flowHash(f1) % queues).toBe(flowHash(f2) % queues);
        expect(flowHash(f1) % queues).toBe(v.l4 % queues);
        // Different source ports of the same hosts reach more than one queue.
        const used = new Set<number>();
        for (let p = 0; p < 64; p++) used.add(flowHash(v6Frame(v.src, v.dst, 6, 40000 + p, v.dport)) % queues);
        expect(used.size).toBeGreaterThan(1);
    });
});

describe('RSS indirection table', () => {
    it('picks hash % queues for power-of-two queue counts and covers every queue evenly otherwise', () => {
        for (const queues of [1, 2, 4, 8]) {
            const t = indirectionTable(queues);
            for (const h of [0, 1, 5, 127, 128, 0x51ccc178, 0xffffffff]) expect(t[h & (RETA_SIZE - 1)]).toBe(h % queues);
        }
        const counts = [0, 0, 0];
        for (const q of indirectionTable(3)) counts[q]++;
        expect(counts).toEqual([43, 43, 42]);
    });
});

describe('engine flush', () => {
    it('serves a queue another flush marks dirty, once, and cannot loop on one that marks itself', () => {
        const e = new Engine();
        const log: string[] = [];
        const mk = (name: string, then?: () => void) => {
            const f = { dirty: false, flush: () => { log.push(name); then?.(); } };
            return f;
        };
        const b = mk('b');
        const c = mk('c');
        const a = mk('a', () => { e.markDirty(b); e.markDirty(a); });
        e.markDirty(a);
        e.markDirty(c);
        e.flush();
        expect(log).toEqual(['a', 'c', 'b']);
        expect([a.dirty, b.dirty, c.dirty]).toEqual([false, false, false]);
        e.flush();
        expect(log).toEqual(['a', 'c', 'b']);
    });
});

describe('MAC table', () => {
    const mac = (...b: number[]) => Uint8Array.from(b);
    it('learns, moves, ages and forgets', () => {
        const t = new MacTable(1000);
        const m = mac(0x52, 0x54, 0, 0, 0, 1);
        expect(t.lookup(m, 0, 0, 0)).toBe(-1);
        t.learn(m, 0, 0, 3, 0);
        expect(t.lookup(m, 0, 0, 500)).toBe(3);
        t.learn(m, 0, 0, 4, 600);
        expect(t.lookup(m, 0, 0, 1500)).toBe(4);
        expect(t.lookup(m, 0, 0, 1700)).toBe(-1); // aged
        t.learn(m, 0, 0, 4, 2000);
        t.forgetPort(4);
        expect(t.lookup(m, 0, 0, 2000)).toBe(-1);
    });

    it('keeps one MAC apart per VLAN', () => {
        const t = new MacTable(1000);
        const m = mac(0x52, 0x54, 0, 0, 0, 1);
        t.learn(m, 0, 10, 3, 0);
        t.learn(m, 0, 20, 4, 0);
        expect([t.lookup(m, 0, 10, 1), t.lookup(m, 0, 20, 1), t.lookup(m, 0, 0, 1), t.lookup(m, 0, 4094, 1)]).toEqual([3, 4, -1, -1]);
        expect(t.entries(1).map((e) => [e.mac, e.vlan, e.port]).sort()).toEqual([['52:54:00:00:00:01', 10, 3], ['52:54:00:00:00:01', 20, 4]]);
    });

    it('survives more addresses than it holds (flushes, never loops)', () => {
        const t = new MacTable(1e9);
        for (let i = 0; i < 20_000; i++) t.learn(mac(2, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 1), 0, 0, i % 7, 0);
        expect(t.lookup(mac(2, 0, 0, (19_999 >> 8) & 0xff, 19_999 & 0xff, 1), 0, 0, 0)).toBe(19_999 % 7);
    });
});

class SinkPort extends Port {
    got: string[] = [];
    transmit(f: Frame): void {
        this.got.push(Buffer.from(f.mem.u8.subarray(f.off, f.off + 6)).toString('hex'));
        this.tx_packets++;
    }
    report(): PortReport {
        return this.baseReport('tap', 'up', []);
    }
    close(): void {}
}

describe('learning bridge and patch links', () => {
    function frame(dst: number[], src: number[], len = 60): Frame {
        const u8 = new Uint8Array(len);
        u8.set(dst, 0);
        u8.set(src, 6);
        const f = new Frame();
        f.mem = { u8, i32: new Int32Array(u8.buffer, 0, len >> 2), addr: 0 };
        f.off = 0;
        f.len = len;
        return f;
    }
    const A = [2, 0, 0, 0, 0, 0xa];
    const B = [2, 0, 0, 0, 0, 0xb];
    const BC = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    it('floods unknown and broadcast, forwards learned unicast, enforces MTU', () => {
        const e = new Engine();
        const br = e.addBridge('br0', 1500);
        const [pa, pb, pc] = ['a', 'b', 'c'].map((n) => new SinkPort(n));
        for (const p of [pa, pb, pc]) e.addPort(p, br);
        br.input(pa, frame(B, A));
        expect([pa.got.length, pb.got.length, pc.got.length]).toEqual([0, 1, 1]);
        br.input(pb, frame(A, B));
        expect([pa.got.length, pb.got.length, pc.got.length]).toEqual([1, 1, 1]);
        br.input(pa, frame(B, A));
        expect([pa.got.length, pb.got.length, pc.got.length]).toEqual([1, 2, 1]);
        br.input(pa, frame(BC, A));
        expect([pa.got.length, pb.got.length, pc.got.length]).toEqual([1, 3, 2]);
        br.input(pa, frame(B, A, 1519));
        expect(pa.dropsByReason.mtu).toBe(1);
        br.input(pa, frame(B, A, 1518)); // 1500 + 14 + VLAN tag
        expect(pb.got.length).toBe(4);
        expect(br.flooded).toBe(2);
    });

    it('carries frames over a patch link and learns across it', () => {
        const e = new Engine();
        const b0: Bridge = e.addBridge('br0', 1500);
        const b1: Bridge = e.addBridge('br1', 1500);
        const pa = new SinkPort('a');
        const pb = new SinkPort('b');
        e.addPort(pa, b0);
        e.addPort(pb, b1);
        const l0 = new PatchPort('l0');
        const l1 = new PatchPort('l1');
        l0.peer = l1;
        l1.peer = l0;
        e.addPort(l0, b0);
        e.addPort(l1, b1);
        b0.input(pa, frame(B, A));
        expect(pb.got.length).toBe(1);
        b1.input(pb, frame(A, B));
        expect(pa.got.length).toBe(1);
        expect(b1.flooded).toBe(1); // only the first, unknown-destination frame
        expect(b0.flooded).toBe(1);
    });

    it('stops a loop of patch links', () => {
        const e = new Engine();
        const brs = ['x', 'y', 'z'].map((n) => e.addBridge(n, 1500));
        const link = (i: number, j: number) => {
            const p = new PatchPort(`${i}-${j}`);
            const q = new PatchPort(`${j}-${i}`);
            p.peer = q;
            q.peer = p;
            e.addPort(p, brs[i]);
            e.addPort(q, brs[j]);
            return p;
        };
        link(0, 1);
        link(1, 2);
        link(2, 0);
        const src = new SinkPort('s');
        e.addPort(src, brs[0]);
        brs[0].input(src, frame(BC, A));
        const loops = [...e.ports.values()].reduce((n, p) => n + (p.dropsByReason['patch-loop'] ?? 0), 0);
        expect(loops).toBeGreaterThan(0);
    });
});
