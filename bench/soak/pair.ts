/**
 * The soak's testpmd pair: one dpdk-testpmd process (a vhost-user frontend
 * with two virtio-user ports) in mac forwarding, chained, so a fixed
 * population of frames circulates port 0 → switch → port 1 → switch → …
 * Killing the process is the frontend's disconnect; a new one reconnects.
 */
import { TestpmdPrompt } from '../../test/support/testpmd.js';

export const PAIR_MACS: [string, string] = ['02:00:00:00:5a:01', '02:00:00:00:5a:02'];

export interface PortCounts { rx: number; tx: number }

export class SoakPair extends TestpmdPrompt {
    constructor(readonly sockets: [string, string], readonly burst: number, prefix: string) {
        super(prefix);
    }

    async start(timeoutMs = 60_000): Promise<void> {
        const vdev = (i: number) => `net_virtio_user${i},path=${this.sockets[i]},queues=1,mac=${PAIR_MACS[i]}`;
        await this.launch([vdev(0), vdev(1)], [
            '--total-num-mbufs=8192', '--port-topology=chained', '--forward-mode=mac', `--burst=${this.burst}`,
            `--eth-peer=0,${PAIR_MACS[1]}`, `--eth-peer=1,${PAIR_MACS[0]}`,
        ], 'testpmd prompt', timeoutMs);
    }

    /** Both ports' packet counters since this process started. */
    async counts(): Promise<[PortCounts, PortCounts]> {
        const s = await this.cmd('show port stats all');
        const rx = [...s.matchAll(/RX-packets:\s+(\d+)/g)].map((x) => Number(x[1]));
        const tx = [...s.matchAll(/TX-packets:\s+(\d+)/g)].map((x) => Number(x[1]));
        if (rx.length < 2 || tx.length < 2) throw new Error(`cannot parse testpmd stats: ${s}`);
        return [{ rx: rx[0], tx: tx[0] }, { rx: rx[1], tx: tx[1] }];
    }
}
