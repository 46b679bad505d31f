/**
 * VIRTIO_F_IN_ORDER: the switch offers it (as DPDK's vhost library does, so
 * DPDK guests take the same rx/tx paths on either datapath) and must then
 * complete buffers in the order the driver made them available, whatever
 * the descriptor heads, including a frame merged over several RX chains.
 * On split and on packed rings (where a buffer id is the head here).
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bit, F } from '../../src/datapath/vhost-user/messages.js';
import { ethFrame, FakeFrontend } from '../support/fake-frontend.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { tempDir, until } from '../support/wait.js';

const MA = '52:54:00:00:4a:01';
const MB = '52:54:00:00:4b:01';

for (const layout of ['split', 'packed'] as const)
describe(`VIRTIO_F_IN_ORDER, ${layout} ring`, () => {
    const dir = tempDir(`dp-inorder-${layout}`);
    const dp = new DatapathProc(dir);
    const fes: FakeFrontend[] = [];
    const sock = (n: string) => path.join(dir, `${n}.sock`);

    beforeAll(async () => {
        await dp.start();
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
        for (const n of ['a', 'b']) await dp.req('add-vhost-port', { port: `${n}.eth0`, bridge: 'br0', socket: sock(n), mode: 'server', queues: 1 });
    });
    afterAll(async () => {
        for (const f of fes) f.close();
        await dp.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it('is negotiated, and TX and merged RX buffers complete in avail order, not head order', async () => {
        const [A, B] = ['a', 'b'].map((n) => {
            const f = new FakeFrontend(sock(n));
            f.features |= bit(F.IN_ORDER) | (layout === 'packed' ? bit(F.RING_PACKED) : 0n);
            fes.push(f);
            return f;
        });
        for (const f of [A, B]) {
            await f.connect();
            await f.setup();
        }
        await until('both up', async () => (await dp.status()).ports.filter((p) => p.link === 'up').length === 2);
        expect((await dp.port('a.eth0')).features).toContain('IN_ORDER');
        expect(((await dp.port('a.eth0')).features ?? []).includes('RING_PACKED')).toBe(layout === 'packed');

        // 256-byte RX buffers at scrambled heads: a 1000-byte frame takes four of them.
        const rxHeads = [7, 3, 250, 0, 5, 9, 1, 2];
        B.postRxHeads(rxHeads, 256);
        const frames = [ethFrame(MB, MA, 46, 1), ethFrame(MB, MA, 986, 2), ethFrame(MB, MA, 46, 3)];
        const txHeads = [40, 2, 18];
        frames.forEach((f, i) => A.send(f, false, txHeads[i]));
        await until('A\'s three buffers completed', () => A.txCompleted() === 3);
        expect(A.usedEntries(1).map((e) => e.id)).toEqual(txHeads);

        await until('six RX buffers used', () => B.usedEntries(0).length === 6);
        const used = B.usedEntries(0);
        expect(used.map((e) => e.id)).toEqual(rxHeads.slice(0, 6));
        // Reassemble by num_buffers (header bytes 10-11 of each frame's first buffer).
        const got: string[] = [];
        for (let k = 0; k < used.length; ) {
            const first = B.rxBuffer(used[k].id, used[k].len);
            const n = first[10] | (first[11] << 8);
            const parts = [first.subarray(12), ...used.slice(k + 1, k + n).map((e) => B.rxBuffer(e.id, e.len))];
            got.push(Buffer.concat(parts).toString('hex'));
            k += n;
        }
        expect(got).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    });
});
