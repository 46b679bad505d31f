/**
 * Packed virtqueues with a real driver: dpdk-testpmd virtio-user with
 * packed_vq=1 (its packed, in-order rx/tx paths) forwarding through the
 * switch, to a packed peer and to a split one, with exact counts.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testpmd, uniquePrefix } from './peers.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { sleep, tempDir, until } from '../support/wait.js';

const MAC = { a: '52:54:00:00:1a:01', b: '52:54:00:00:1b:01', c: '52:54:00:00:1c:01' };

describe('embedded datapath with packed-ring testpmd frontends', () => {
    const dir = tempDir('dp-packed');
    const dp = new DatapathProc(dir);
    const pmds: Testpmd[] = [];
    const sock = (n: string) => path.join(dir, `${n}.sock`);

    beforeAll(async () => {
        await dp.start();
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
        for (const n of ['a', 'b', 'c']) await dp.req('add-vhost-port', { port: `${n}.eth0`, bridge: 'br0', socket: sock(n), mode: 'server', queues: 1 });
    });
    afterAll(async () => {
        for (const t of pmds) t.kill();
        await dp.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it('forwards between packed and split frontends with every frame accounted for', async () => {
        const mk = (n: keyof typeof MAC, peer: keyof typeof MAC, packed: boolean) => {
            const t = new Testpmd({ socket: sock(n), mac: MAC[n], peer: MAC[peer], prefix: uniquePrefix(`pk${n}`), packed });
            pmds.push(t);
            return t;
        };
        const A = mk('a', 'b', true);
        const B = mk('b', 'a', true);
        const C = mk('c', 'a', false);
        for (const t of [A, B, C]) {
            await t.start();
            await t.cmd('set fwd rxonly');
        }
        await until('three vhost ports up', async () => (await dp.status()).ports.every((p) => p.link === 'up'));
        const pa = await dp.port('a.eth0');
        expect(pa.features).toEqual(expect.arrayContaining(['VERSION_1', 'RING_PACKED']));
        expect((await dp.port('c.eth0')).features).not.toContain('RING_PACKED');
        await B.cmd('start');
        await C.cmd('start');
        // Unknown destination: A's packed TX floods to B (packed RX) and C (split RX).
        await A.cmd('start tx_first 2');
        await until('B and C receive the flood', async () => (await B.stats()).rx === 64 && (await C.stats()).rx === 64);
        // B answers: A's packed RX ring takes 32; C (split TX) then sends 96 more to A.
        await B.cmd('stop');
        await B.cmd('start tx_first 1');
        await until('A receives 32', async () => (await A.stats()).rx === 32);
        await C.cmd('stop');
        await C.cmd('start tx_first 3');
        await until('A receives 96 more', async () => (await A.stats()).rx === 32 + 96);

        // Sustained: A sends as fast as it can for a while (many laps of its 256-entry rings), B counts.
        await A.cmd('stop');
        await A.cmd('set fwd txonly');
        await A.cmd('start');
        await sleep(1500);
        await A.cmd('stop');
        const aTx = (await A.stats()).tx;
        await until('switch drained A', async () => (await dp.port('a.eth0')).rx_packets === aTx);
        const pb = await until('B counters settle', async () => {
            const p = await dp.port('b.eth0');
            return p.tx_packets + p.drops === aTx ? p : undefined;
        });
        await until('B received what the switch sent', async () => (await B.stats()).rx === pb.tx_packets);
        expect(aTx).toBeGreaterThan(1000);
        expect((await dp.port('a.eth0')).vhost).toBe('connected');
        expect((await dp.port('b.eth0')).vhost).toBe('connected');
        for (const t of [A, B, C]) await t.quit();
    }, 120_000);
});
