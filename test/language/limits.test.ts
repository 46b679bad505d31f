import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATAPATH_KINDS, LIMITS, type DatapathKind } from '../../src/core/limits.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { checkText } from '../../src/language/load.js';

/** A lab whose one bridge is on `dp`; the declaring line of each limited value is marked by its value's line number. */
function lab(dp: DatapathKind, o: { portQueues?: number; nicQueues?: number; driver?: string; mtu?: number }): { text: string; line: number } {
    const lines = [
        'topology t {',
        '  host { cores 0-3  memory 8G  poll-cores 0-3 }',
        `  bridge br0 { datapath ${dp} }`,
        `  nic n0 { driver ${o.driver ?? 'tap'}  bridge br0  queues ${o.nicQueues ?? 1} }`,
        '  vm a {',
        '    cpus 4',
        `    port eth0 { bridge br0  queues ${o.portQueues ?? 1}${o.mtu !== undefined ? `  mtu ${o.mtu}` : ''} }`,
        '  }',
        '}',
    ];
    const line = o.portQueues !== undefined || o.mtu !== undefined ? 7 : 4;
    return { text: lines.join('\n'), line };
}

async function errorsOf(text: string) {
    return (await checkText(text)).diagnostics.filter((d) => d.severity === 'error').map((d) => ({ line: d.line, code: d.code, message: d.message }));
}

/** The embedded datapath's own refusal for an op, or undefined when it passes the argument checks. */
async function embeddedRefusal(req: Record<string, unknown>): Promise<string | undefined> {
    const dp = new Datapath(() => {});
    await dp.op({ op: 'add-bridge', name: 'br0', mtu: 1500 });
    try {
        await dp.op(req as never);
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}

describe('the limits table', () => {
    for (const dp of DATAPATH_KINDS) {
        const l = LIMITS[dp];
        it(`${dp}: port queues — ${l.portQueues.max} checks clean, ${l.portQueues.max + 1} is an error on the port line naming the datapath`, async () => {
            expect(await errorsOf(lab(dp, { portQueues: l.portQueues.max }).text)).toEqual([]);
            const over = lab(dp, { portQueues: l.portQueues.max + 1 });
            const errs = await errorsOf(over.text);
            expect(errs).toEqual([expect.objectContaining({ line: over.line, code: 'queues-out-of-range' })]);
            expect(errs[0].message).toContain(`at most ${l.portQueues.max} queue pairs per port`);
            if (dp === 'embedded') {
                // The datapath's own argument check agrees (it refuses before opening the socket).
                expect(await embeddedRefusal({ op: 'add-vhost-port', port: 'a.eth0', bridge: 'br0', socket: '/nonexistent/s', queues: l.portQueues.max + 1 })).toMatch(/out of range/);
                expect(await embeddedRefusal({ op: 'add-vhost-port', port: 'a.eth0', bridge: 'br0', socket: '/nonexistent/s', queues: l.portQueues.max }) ?? '').not.toMatch(/out of range/);
            }
        });
        for (const driver of ['tap', 'af_packet'] as const) {
            const r = l.nicQueues[driver]!;
            it(`${dp}: ${driver} NIC queues — ${r.max} checks clean, ${r.max + 1} is an error on the nic line`, async () => {
                const drv = driver === 'tap' ? 'tap' : 'af_packet "eth9"';
                expect(await errorsOf(lab(dp, { nicQueues: r.max, driver: drv }).text)).toEqual([]);
                const over = lab(dp, { nicQueues: r.max + 1, driver: drv });
                expect(await errorsOf(over.text)).toEqual([expect.objectContaining({ line: over.line, code: 'nic-queues-exceed-driver' })]);
                if (dp === 'embedded') {
                    const op = driver === 'tap' ? { op: 'add-tap', ifname: 'vtlimits0' } : { op: 'add-af-packet', iface: 'eth9' };
                    expect(await embeddedRefusal({ ...op, port: 'n0', bridge: 'br0', queues: r.max + 1, mtu: 1500 })).toMatch(/out of range/);
                    expect(await embeddedRefusal({ ...op, port: 'n0', bridge: 'br0', queues: r.max, mtu: 1500 }) ?? '').not.toMatch(/out of range/);
                }
            });
        }
        it(`${dp}: MTU — ${l.mtu.max} checks clean, ${l.mtu.max + 1} is an error on the declaring line`, async () => {
            const ok = lab(dp, { mtu: l.mtu.max }).text.replace(`datapath ${dp} }`, `datapath ${dp}  mtu ${l.mtu.max} }`);
            expect(await errorsOf(ok)).toEqual([]);
            const over = lab(dp, { mtu: l.mtu.max + 1 }).text.replace(`datapath ${dp} }`, `datapath ${dp}  mtu ${l.mtu.max} }`);
            expect((await errorsOf(over)).map((e) => [e.line, e.code])).toEqual([[7, 'mtu-out-of-range']]);
            if (dp === 'embedded') {
                const dpath = new Datapath(() => {});
                await expect(dpath.op({ op: 'add-bridge', name: 'b', mtu: l.mtu.max + 1 })).rejects.toThrow(/out of range/);
                await expect(dpath.op({ op: 'add-bridge', name: 'b', mtu: l.mtu.max })).resolves.toBeDefined();
            }
        });
    }

    it('the held-out file: port queues 16 and NIC queues 32 on an embedded bridge are errors on their lines', async () => {
        const text = readFileSync('test/fixtures/invalid/embedded-limits.vtopo', 'utf8');
        const errs = await errorsOf(text);
        expect(errs.map((e) => [e.line, e.code])).toEqual([[8, 'nic-queues-exceed-driver'], [16, 'queues-out-of-range']]);
        expect(errs[1].message).toMatch(/the embedded datapath serves at most 8 queue pairs per port; OvS-DPDK allows up to 128/);
    });
});
