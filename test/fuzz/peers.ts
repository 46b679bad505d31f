/**
 * The live proof a vhost-user fuzz run needs that other ports keep working:
 * one dpdk-testpmd with two virtio-user ports forwarding into each other
 * through the switch, in its own process group and stopped by it. The
 * datapath process itself is test/support/datapath-proc.ts.
 */
import { TestpmdPrompt } from '../support/testpmd.js';

export interface PairOptions { sockets: [string, string]; macs: [string, string]; prefix: string }

/**
 * One testpmd, two virtio-user ports, io forwarding chained port 0 ↔ port 1:
 * every frame the switch delivers to one port goes back out of the other.
 * `start tx_first` injects a burst per port; they then circulate for good.
 */
export class TestpmdPair extends TestpmdPrompt {
    constructor(readonly o: PairOptions) {
        super(o.prefix);
    }

    async start(timeoutMs = 60_000): Promise<void> {
        const vdev = (i: number) => `net_virtio_user${i},path=${this.o.sockets[i]},queues=1,mac=${this.o.macs[i]}`;
        await this.launch([vdev(0), vdev(1)], [
            '--total-num-mbufs=8192', '--port-topology=chained', '--forward-mode=io', `--eth-peer=0,${this.o.macs[1]}`, `--eth-peer=1,${this.o.macs[0]}`,
        ], 'testpmd prompt', timeoutMs);
    }

    /** RX packets per port. */
    async rx(): Promise<[number, number]> {
        const s = await this.cmd('show port stats all');
        const m = [...s.matchAll(/RX-packets:\s+(\d+)/g)].map((x) => Number(x[1]));
        if (m.length < 2) throw new Error(`cannot parse testpmd stats: ${s}`);
        return [m[0], m[1]];
    }

    stop(): void {
        this.kill();
    }
}
