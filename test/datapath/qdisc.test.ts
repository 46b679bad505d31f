/**
 * The per-egress-queue pfifo: when a guest posts no receive buffers, frames
 * for it wait in a bounded backlog, the overflow is tail-dropped and counted
 * as 'tail-drop', and once the guest posts buffers the backlog drains into
 * them, oldest first.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PFIFO_CAPACITY } from '../../src/datapath/ports/vhost-port.js';
import { ethFrame, FakeFrontend } from '../support/fake-frontend.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { sleep, tempDir, until } from '../support/wait.js';

const MA = '52:54:00:00:4a:01';
const MB = '52:54:00:00:4b:01';

/** A frame carrying its sequence number in the first two payload bytes. */
function numbered(seq: number): Uint8Array {
    const f = ethFrame(MB, MA, 64, seq);
    f[14] = seq >> 8;
    f[15] = seq & 0xff;
    return f;
}

describe('pfifo egress queue (tail drop)', () => {
    const dir = tempDir('dp-qdisc');
    const dp = new DatapathProc(dir);
    const sock = (n: string) => path.join(dir, `${n}.sock`);
    const A = new FakeFrontend(sock('a'));
    const B = new FakeFrontend(sock('b'));

    beforeAll(async () => {
        await dp.start();
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
        for (const n of ['a', 'b']) await dp.req('add-vhost-port', { port: `${n}.eth0`, bridge: 'br0', socket: sock(n), mode: 'server', queues: 1 });
    });
    afterAll(async () => {
        A.close();
        B.close();
        await dp.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it('bounds the backlog of a guest without rx buffers, tail-drops the rest, then delivers the backlog in order', async () => {
        await A.connect();
        await A.setup();
        await B.connect();
        await B.setup(); // rings enabled, but no receive buffer posted
        await until('both up', async () => (await dp.status()).ports.filter((p) => p.link === 'up').length === 2);

        const total = PFIFO_CAPACITY + 144;
        // In batches well inside A's TX ring; each batch fully consumed before the next.
        const batch = 64;
        for (let sent = 0; sent < total; ) {
            const n = Math.min(batch, total - sent);
            for (let k = 0; k < n; k++) A.send(numbered(sent + k));
            sent += n;
            await until(`switch took ${sent} frames from A`, () => A.txCompleted() === sent);
        }
        const pb = await until('every frame queued or dropped', async () => {
            const p = await dp.port('b.eth0');
            return (p.drops_by_reason['tail-drop'] ?? 0) + (p.queues[0].backlog ?? 0) === total ? p : undefined;
        });
        expect(pb.drops_by_reason['tail-drop']).toBeGreaterThan(0);
        expect(pb.drops_by_reason['tail-drop']).toBe(total - PFIFO_CAPACITY);
        expect(pb.queues[0].backlog).toBe(PFIFO_CAPACITY);
        expect(pb.queues[0].drops).toBe(total - PFIFO_CAPACITY);
        expect(pb.tx_packets).toBe(0);
        expect(B.received()).toHaveLength(0);

        // More traffic while full: still bounded, every extra frame tail-dropped.
        A.send(numbered(total));
        await until('one more tail drop', async () => (await dp.port('b.eth0')).drops_by_reason['tail-drop'] === total + 1 - PFIFO_CAPACITY);
        expect((await dp.port('b.eth0')).queues[0].backlog).toBe(PFIFO_CAPACITY);

        // Buffers arrive: the backlog drains into them, the oldest frames first.
        B.postRx(PFIFO_CAPACITY);
        const got: Uint8Array[] = [];
        await until(`B receives ${PFIFO_CAPACITY} queued frames`, () => {
            got.push(...B.received());
            return got.length >= PFIFO_CAPACITY;
        });
        await sleep(100);
        got.push(...B.received());
        expect(got).toHaveLength(PFIFO_CAPACITY);
        expect(got.map((g) => (g[14] << 8) | g[15])).toEqual([...Array(PFIFO_CAPACITY).keys()]);
        expect(Buffer.from(got[7]).equals(Buffer.from(numbered(7)))).toBe(true);
        const after = await until('backlog empty', async () => {
            const p = await dp.port('b.eth0');
            return p.queues[0].backlog === 0 ? p : undefined;
        });
        expect(after.tx_packets).toBe(PFIFO_CAPACITY);
        expect(after.drops_by_reason['tail-drop']).toBe(total + 1 - PFIFO_CAPACITY);
        // Every delivered frame waited in the backlog; tail-dropped ones never entered it.
        expect(after.queues[0].backlogged).toBe(PFIFO_CAPACITY);
    });
});
