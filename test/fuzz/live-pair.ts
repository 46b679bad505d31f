/**
 * The live proof during a fuzz run: two testpmd virtio-user ports on their
 * own bridge of the same datapath process, forwarding frames into each
 * other without end. Each check wants both ports' receive counters to have
 * grown since the last one and both ports up and connected.
 */
import * as path from 'node:path';
import type { DatapathProc } from '../support/datapath-proc.js';
import { TestpmdPair } from './peers.js';
import { until } from '../support/wait.js';

export interface LivePair {
    check(): Promise<string | undefined>;
    /** Frames both ports received so far. */
    received(): Promise<[number, number]>;
    stop(): void;
}

const MACS: [string, string] = ['02:00:00:00:fa:01', '02:00:00:00:fa:02'];

export async function startLivePair(dp: DatapathProc, dir: string): Promise<LivePair> {
    const sockets: [string, string] = [path.join(dir, 'p0.sock'), path.join(dir, 'p1.sock')];
    await dp.req('add-bridge', { name: 'pair', mtu: 1500 });
    for (let i = 0; i < 2; i++) await dp.req('add-vhost-port', { port: `pair.p${i}`, bridge: 'pair', socket: sockets[i], mode: 'server', queues: 1, mac: MACS[i] });
    const pmd = new TestpmdPair({ sockets, macs: MACS, prefix: `vtopo-fuzz-${process.pid}` });
    try {
        await pmd.start();
        await until('both pair ports up', async () => (await dp.status()).ports.filter((p) => p.id.startsWith('pair.') && p.link === 'up').length === 2, 30_000);
        await pmd.cmd('start tx_first');
        await until('frames circulating', async () => Math.min(...(await pmd.rx())) > 0, 20_000);
    } catch (e) {
        pmd.stop();
        throw e;
    }
    let last = await pmd.rx();
    return {
        async check() {
            const st = await dp.status();
            const bad = st.ports.filter((p) => p.id.startsWith('pair.') && (p.link !== 'up' || p.vhost !== 'connected'));
            if (bad.length) return `pair port ${bad.map((p) => `${p.id} ${p.vhost}/${p.link} ${p.error ?? ''}`).join(', ')}`;
            // The switch may be busy with the victim: give the pair a moment to show progress.
            const before = last;
            let now = await pmd.rx();
            for (let i = 0; i < 50 && !(now[0] > before[0] && now[1] > before[1]); i++) {
                await new Promise((r) => setTimeout(r, 100));
                now = await pmd.rx();
            }
            last = now;
            if (!(now[0] > before[0] && now[1] > before[1])) return `the testpmd pair stopped forwarding: rx ${before.join('/')} → ${now.join('/')}`;
            return undefined;
        },
        received: () => pmd.rx(),
        stop: () => pmd.stop(),
    };
}
