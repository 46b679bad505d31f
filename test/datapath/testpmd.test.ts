/**
 * The switch between real vhost-user frontends: dpdk-testpmd virtio-user
 * ports (one process each), a host tap and an af_packet port on a veth.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Testpmd, uniquePrefix } from './peers.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { sleep, tempDir, until } from '../support/wait.js';

const MAC = { a: '52:54:00:00:0a:01', b: '52:54:00:00:0b:01', c: '52:54:00:00:0c:01' };

describe('embedded datapath with dpdk-testpmd frontends', () => {
    const dir = tempDir('dp-testpmd');
    const dp = new DatapathProc(dir);
    const pmds: Testpmd[] = [];
    const netns = `vtopo-dpt-${process.pid}`;
    const sock = (n: string) => path.join(dir, `${n}.sock`);
    function pmd(name: keyof typeof MAC, peer: keyof typeof MAC | 'bcast', extra: Partial<ConstructorParameters<typeof Testpmd>[0]> = {}): Testpmd {
        const t = new Testpmd({ socket: sock(name), mac: MAC[name], peer: peer === 'bcast' ? 'ff:ff:ff:ff:ff:ff' : MAC[peer], prefix: uniquePrefix(name), ...extra });
        pmds.push(t);
        return t;
    }

    beforeAll(async () => {
        await dp.start();
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
    });
    // Each case starts clean even after a failed one: a testpmd left running holds its port's one
    // vhost-user connection, and the next case's testpmd on that socket is reset at GET_FEATURES.
    afterEach(async () => {
        for (const t of pmds.splice(0)) t.kill();
        for (const p of (await dp.status()).ports) await dp.req('remove-port', { port: p.id }).catch(() => undefined);
    });
    afterAll(async () => {
        for (const t of pmds) t.kill();
        await dp.stop();
        try { execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' }); } catch { /* none */ }
        try { execFileSync('ip', ['link', 'del', `vtv${process.pid % 10000}a`], { stdio: 'ignore' }); } catch { /* none */ }
        rmSync(dir, { recursive: true, force: true });
    });

    // retry 1 on the first two cases: in 2 of 6 full CI runs one testpmd never reached its prompt within
    // 90 s right after the first had (cause not found: all testpmds share CPU 0 with the whole suite's load);
    // the retry starts clean (afterEach) and asserts the same exact counts.
    it('passes frames between two testpmds with exact counts, learns, and stops flooding', async () => {
        for (const n of ['a', 'b', 'c'] as const) await dp.req('add-vhost-port', { port: `${n}.eth0`, bridge: 'br0', socket: sock(n), mode: 'server', queues: 1 });
        const A = pmd('a', 'b');
        const B = pmd('b', 'a');
        const C = pmd('c', 'a');
        for (const t of [A, B, C]) {
            await t.start();
            await t.cmd('set fwd rxonly');
        }
        await until('three vhost ports up', async () => (await dp.status()).ports.every((p) => p.link === 'up'));
        await B.cmd('start');
        await C.cmd('start');
        // B's MAC is unknown: A's 64 frames flood to B and C.
        await A.cmd('start tx_first 2');
        await until('B and C receive the flood', async () => (await B.stats()).rx === 64 && (await C.stats()).rx === 64);
        // B answers A: A's MAC was learned, so C sees nothing more.
        await B.cmd('stop');
        await B.cmd('start tx_first 1');
        await until('A receives 32', async () => (await A.stats()).rx === 32);
        await A.cmd('stop');
        await A.cmd('start tx_first 3');
        await until('B receives 96 more', async () => (await B.stats()).rx === 64 + 96);
        await sleep(300);
        expect((await C.stats()).rx).toBe(64);
        const st = await dp.status();
        const pa = st.ports.find((p) => p.id === 'a.eth0')!;
        const pb = st.ports.find((p) => p.id === 'b.eth0')!;
        const pc = st.ports.find((p) => p.id === 'c.eth0')!;
        expect(pa.rx_packets).toBe(64 + 96);
        expect(pb.tx_packets).toBe(64 + 96);
        expect(pc.tx_packets).toBe(64);
        expect(pa.tx_packets).toBe(32);
        // testpmd's virtio-user asks for IN_ORDER by default: these exact counts ran on its in-order rx/tx paths.
        expect(pa.features).toEqual(expect.arrayContaining(['VERSION_1', 'MRG_RXBUF', 'IN_ORDER']));
        expect(pa.vhost).toBe('connected');
        expect(pa.queues[0].kicks + pa.queues[0].calls).toBeGreaterThan(0);
        expect(pa.queues[0].avail_idx).toBeGreaterThanOrEqual(160);
        expect(st.bridges[0].macs.map((m) => m.mac).sort()).toEqual([MAC.a, MAC.b].sort());

        // Sustained traffic: every frame accounted for between the ends.
        await B.cmd('stop');
        await B.cmd('start');
        await A.cmd('stop');
        await A.cmd('set fwd txonly');
        await A.cmd('start');
        await sleep(1500);
        await A.cmd('stop');
        // testpmd's port counters run since port start: they include the bursts above.
        const aTx = (await A.stats()).tx;
        await until('switch drained A', async () => (await dp.port('a.eth0')).rx_packets === aTx);
        const pb2 = await until('B counters settle', async () => {
            const p = await dp.port('b.eth0');
            return p.tx_packets + p.drops === aTx ? p : undefined;
        });
        await until('B received what the switch sent', async () => (await B.stats()).rx === pb2.tx_packets);
        expect(aTx).toBeGreaterThan(1000);
        for (const t of [A, B, C]) await t.quit();
        for (const n of ['a', 'b', 'c']) await dp.req('remove-port', { port: `${n}.eth0` });
    }, { timeout: 120_000, retry: 1 });

    it('keeps a flow on one queue and spreads many flows over both', async () => {
        await dp.req('add-vhost-port', { port: 'a.eth0', bridge: 'br0', socket: sock('a'), mode: 'server', queues: 1 });
        await dp.req('add-vhost-port', { port: 'b.eth0', bridge: 'br0', socket: sock('b'), mode: 'server', queues: 2 });
        const A = pmd('a', 'b');
        const B = pmd('b', 'a', { queues: 2 });
        await A.start();
        await B.start();
        await A.cmd('set fwd rxonly');
        await B.cmd('set fwd rxonly');
        await until('B has two queue pairs', async () => (await dp.port('b.eth0')).num_of_vrings === 4);
        await B.cmd('start');
        await A.cmd('start tx_first 4');
        await until('B receives 128', async () => (await B.stats()).rx === 128);
        const q1 = (await dp.port('b.eth0')).queues.map((q) => q.tx_packets);
        expect(q1.sort()).toEqual([0, 128]);
        await A.cmd('stop');
        await A.cmd('set txonly-multi-flow on').catch(() => '');
        await A.quit();
        const A2 = pmd('a', 'b', { extra: ['--txonly-multi-flow'] });
        await A2.start();
        await A2.cmd('set fwd rxonly');
        await until('A reconnected', async () => (await dp.port('a.eth0')).link === 'up');
        await A2.cmd('start tx_first 4');
        await until('B receives 128 more', async () => (await B.stats()).rx === 256);
        const q2 = (await dp.port('b.eth0')).queues.map((q) => q.tx_packets);
        expect(q2[0] + q2[1]).toBe(256);
        expect(Math.min(q2[0], q2[1])).toBeGreaterThan(0);
        for (const t of [A2, B]) await t.quit();
        for (const n of ['a', 'b']) await dp.req('remove-port', { port: `${n}.eth0` });
    }, { timeout: 120_000, retry: 1 });

    it('reconnects in client mode when the frontend restarts', async () => {
        await dp.req('add-vhost-port', { port: 'a.eth0', bridge: 'br0', socket: sock('a'), mode: 'client', queues: 1 });
        await dp.req('add-vhost-port', { port: 'b.eth0', bridge: 'br0', socket: sock('b'), mode: 'server', queues: 1 });
        expect((await dp.port('a.eth0')).vhost).toBe('connecting');
        const B = pmd('b', 'a');
        await B.start();
        await B.cmd('set fwd rxonly');
        await B.cmd('start');
        for (let round = 1; round <= 2; round++) {
            const A = pmd('a', 'b', { server: true });
            await A.start();
            await A.cmd('set fwd rxonly');
            await until(`A connected (round ${round})`, async () => (await dp.port('a.eth0')).link === 'up');
            await A.cmd('start tx_first 1');
            await until(`B receives round ${round}`, async () => (await B.stats()).rx === 32 * round);
            A.kill();
            await until('switch sees A gone', async () => (await dp.port('a.eth0')).vhost === 'connecting');
        }
        const pa = await dp.port('a.eth0');
        expect(pa.connects).toBe(2);
        await B.quit();
        for (const n of ['a', 'b']) await dp.req('remove-port', { port: `${n}.eth0` });
    }, 120_000);

    it('bridges a host tap and an af_packet port (veth) to a testpmd', async () => {
        const tap = `vtt${process.pid % 10000}`;
        const veth = `vtv${process.pid % 10000}a`;
        const peer = `vtv${process.pid % 10000}b`;
        const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' }).toString();
        ip('netns', 'add', netns);
        await dp.req('add-vhost-port', { port: 'b.eth0', bridge: 'br0', socket: sock('b'), mode: 'server', queues: 1 });
        await dp.req('add-tap', { port: 'uplink', bridge: 'br0', ifname: tap, queues: 2, mtu: 1500 });
        ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', peer);
        ip('link', 'set', veth, 'up');
        await dp.req('add-af-packet', { port: 'phys', bridge: 'br0', iface: veth, queues: 2, mtu: 1500 });
        ip('link', 'set', tap, 'netns', netns);
        ip('link', 'set', peer, 'netns', netns);
        ip('netns', 'exec', netns, 'ip', 'addr', 'add', '10.77.0.1/24', 'dev', tap);
        ip('netns', 'exec', netns, 'ip', 'link', 'set', tap, 'up');
        ip('netns', 'exec', netns, 'ip', 'link', 'set', peer, 'up');
        const B = pmd('b', 'bcast');
        await B.start();
        await B.cmd('set fwd rxonly');
        await B.cmd('start');
        // Host → switch: ARP for an absent address leaves through the tap, floods to B and the veth.
        try { execFileSync('ip', ['netns', 'exec', netns, 'busybox', 'ping', '-c', '3', '-W', '1', '10.77.0.9'], { stdio: 'ignore' }); } catch { /* no answer expected */ }
        await until('B receives the ARP requests', async () => (await B.stats()).rx >= 3);
        const peerRx = () => Number(ip('netns', 'exec', netns, 'cat', `/sys/class/net/${peer}/statistics/rx_packets`).trim());
        const tapRx = () => Number(ip('netns', 'exec', netns, 'cat', `/sys/class/net/${tap}/statistics/rx_packets`).trim());
        await until('the veth peer sees them too', () => peerRx() >= 3);
        // Switch → host: B's broadcasts arrive on the tap and through af_packet on the veth.
        const tap0 = tapRx();
        const veth0 = peerRx();
        await B.cmd('stop');
        await B.cmd('start tx_first 1');
        await until('tap receives 32', () => tapRx() - tap0 >= 32);
        await until('veth peer receives 32', () => peerRx() - veth0 >= 32);
        const st = await dp.status();
        const up = st.ports.find((p) => p.id === 'uplink')!;
        expect(up.kind).toBe('tap');
        expect(up.queues.length).toBe(2);
        expect(up.rx_packets).toBeGreaterThanOrEqual(3);
        expect(up.tx_packets).toBeGreaterThanOrEqual(32);
        const ph = st.ports.find((p) => p.id === 'phys')!;
        expect(ph.tx_packets).toBeGreaterThanOrEqual(32);
        await B.quit();
        for (const n of ['b.eth0', 'uplink', 'phys']) await dp.req('remove-port', { port: n });
    }, 120_000);
});
