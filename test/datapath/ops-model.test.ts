/**
 * The datapath's control operations in random order, against a model of
 * what they promise (datapath.ts): idempotent adds, replacement when the
 * shape changes, a bridge's removal taking its ports and links with it,
 * errors only for what is really wrong (a missing bridge, a link to
 * itself, too many queues), and a refused operation changing nothing.
 * After every operation the inventory and the status must match the
 * model; at the end, with everything removed, no socket file may be left.
 * Seeded, so a failure names the seed and the step that broke.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Datapath, OpError } from '../../src/datapath/datapath.js';
import { rng } from '../support/rng.js';

const BRIDGES = ['b0', 'b1', 'b2'];
const LINKS = ['l0', 'l1'];
const PORTS = ['v0', 'v1', 'v2', 'v3'];
const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-ops-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));


interface Model {
    bridges: Map<string, number>;
    links: Map<string, { a: string; b: string }>;
    ports: Map<string, { bridge: string; mode: string; queues: number }>;
}

type Op = Record<string, unknown> & { op: string };

/** What the op must do to the model; a string when it must fail with an OpError naming it. */
function expected(m: Model, o: Op): string | undefined {
    switch (o.op) {
        case 'add-bridge':
            m.bridges.set(o.name as string, o.mtu as number);
            return undefined;
        case 'remove-bridge': {
            const name = o.name as string;
            if (!m.bridges.delete(name)) return undefined;
            for (const [id, l] of m.links) if (l.a === name || l.b === name) m.links.delete(id);
            for (const [id, p] of m.ports) if (p.bridge === name) m.ports.delete(id);
            return undefined;
        }
        case 'add-link': {
            const [a, b] = [o.a as string, o.b as string];
            if (!m.bridges.has(a)) return `no bridge '${a}'`;
            if (!m.bridges.has(b)) return `no bridge '${b}'`;
            // A refused link leaves the old one of that id in place.
            if (a === b) return 'both ends on bridge';
            m.links.set(o.link as string, { a, b });
            return undefined;
        }
        case 'remove-link':
            m.links.delete(o.link as string);
            return undefined;
        case 'add-vhost-port':
            if (!m.bridges.has(o.bridge as string)) return `no bridge '${o.bridge}'`;
            if ((o.queues as number) > 8) return 'out of range 1-8';
            m.ports.set(o.port as string, { bridge: o.bridge as string, mode: o.mode as string, queues: o.queues as number });
            return undefined;
        case 'remove-port':
            m.ports.delete(o.port as string);
            return undefined;
    }
    throw new Error(`no model for ${o.op}`);
}

function randomOp(r: () => number): Op {
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const k = r();
    if (k < 0.2) return { op: 'add-bridge', name: pick(BRIDGES), mtu: pick([1500, 9000]) };
    if (k < 0.3) return { op: 'remove-bridge', name: pick(BRIDGES) };
    if (k < 0.45) return { op: 'add-link', link: pick(LINKS), a: pick(BRIDGES), b: pick(BRIDGES) };
    if (k < 0.55) return { op: 'remove-link', link: pick(LINKS) };
    if (k < 0.85) {
        const port = pick(PORTS);
        return { op: 'add-vhost-port', port, bridge: pick(BRIDGES), socket: path.join(dir, `${port}.sock`), mode: pick(['server', 'client']), queues: pick([1, 2, 1, 2, 9]) };
    }
    return { op: 'remove-port', port: pick(PORTS) };
}

function mismatch(dp: Datapath, m: Model, inv: { bridges: string[]; links: string[]; vmPorts: string[] }): string | undefined {
    const sorted = (xs: Iterable<string>) => [...xs].sort();
    if (!sameList(inv.bridges, m.bridges.keys())) return `bridges ${sorted(inv.bridges)} ≠ ${sorted(m.bridges.keys())}`;
    if (!sameList(inv.links, m.links.keys())) return `links ${sorted(inv.links)} ≠ ${sorted(m.links.keys())}`;
    if (!sameList(inv.vmPorts, m.ports.keys())) return `ports ${sorted(inv.vmPorts)} ≠ ${sorted(m.ports.keys())}`;
    const st = dp.status();
    for (const b of st.bridges) {
        if (b.mtu !== m.bridges.get(b.name)) return `bridge ${b.name} mtu ${b.mtu} ≠ ${m.bridges.get(b.name)}`;
        const want = [
            ...[...m.ports].filter(([, p]) => p.bridge === b.name).map(([id]) => id),
            ...[...m.links].flatMap(([id, l]) => [l.a, l.b].filter((x) => x === b.name).map((x) => `link:${id}:${x}`)),
        ];
        if (!sameList(b.ports, want)) return `bridge ${b.name} holds ${sorted(b.ports)}, want ${sorted(want)}`;
    }
    for (const p of st.ports) {
        const want = m.ports.get(p.id);
        if (want && (p.bridge !== want.bridge || p.mode !== want.mode)) return `port ${p.id} on ${p.bridge} (${p.mode}), want ${want.bridge} (${want.mode})`;
    }
    return undefined;
}

function sameList(a: Iterable<string>, b: Iterable<string>): boolean {
    const x = [...a].sort();
    const y = [...b].sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('datapath operations against their model', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
        it(`seed ${seed}: 400 random operations keep inventory and status equal to the model`, async () => {
            const dp = new Datapath(() => {});
            const m: Model = { bridges: new Map(), links: new Map(), ports: new Map() };
            const r = rng(seed);
            try {
                for (let step = 0; step < 400; step++) {
                    const o = randomOp(r);
                    const where = `seed ${seed} step ${step} ${JSON.stringify(o)}`;
                    const refusal = expected(m, o);
                    let err: unknown;
                    try {
                        await dp.serve(o);
                    } catch (e) {
                        err = e;
                    }
                    if (refusal) {
                        expect(err, where).toBeInstanceOf(OpError);
                        expect((err as Error).message, where).toContain(refusal);
                    } else if (err) {
                        throw new Error(`${where}: ${(err as Error).message}`);
                    }
                    const inv = (await dp.op({ op: 'inventory' })) as { bridges: string[]; links: string[]; vmPorts: string[] };
                    const bad = mismatch(dp, m, inv);
                    if (bad) throw new Error(`${where}: ${bad}`);
                    // Idempotent: the same add again changes nothing.
                    if (!refusal && o.op.startsWith('add-')) {
                        expect(await dp.serve(o), where).toMatchObject({ existed: true });
                        expect(mismatch(dp, m, (await dp.op({ op: 'inventory' })) as typeof inv), where).toBeUndefined();
                    }
                }
            } finally {
                for (const b of BRIDGES) await dp.op({ op: 'remove-bridge', name: b });
                dp.close();
            }
            // Removing a server port takes its listening socket away.
            expect(readdirSync(dir).filter((f) => f.endsWith('.sock') && existsSync(path.join(dir, f)))).toEqual([]);
        }, 60_000);
    }
});

describe('a refused replacement', () => {
    it('keeps the NIC it would have replaced (a tap this test creates)', async () => {
        const dp = new Datapath(() => {});
        try {
            await dp.op({ op: 'add-bridge', name: 'b0' });
            await dp.op({ op: 'add-tap', port: 'up', bridge: 'b0', ifname: 'vtops0', queues: 1 });
            const err = await dp.op({ op: 'add-tap', port: 'up', bridge: 'b0', ifname: 'vtops1', queues: 17 }).catch((e) => e);
            expect(err).toBeInstanceOf(OpError);
            expect((err as Error).message).toMatch(/queues 17 out of range 1-16/);
            expect(await dp.op({ op: 'inventory' })).toMatchObject({ nics: ['up'] });
            expect(existsSync('/sys/class/net/vtops0')).toBe(true);
        } finally {
            dp.close();
        }
        expect(existsSync('/sys/class/net/vtops0')).toBe(false);
    });
});
