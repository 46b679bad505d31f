/**
 * dpdk-testpmd with one virtio-user port as a frontend for datapath
 * tests. The datapath process itself is test/support/datapath-proc.ts.
 */
import { rmSync } from 'node:fs';
import { TestpmdPrompt } from '../support/testpmd.js';

export interface TestpmdOptions {
    socket: string;
    /** true: testpmd listens (server=1) and the switch connects. */
    server?: boolean;
    queues?: number;
    mac: string;
    peer?: string;
    prefix: string;
    /** virtio-user's packed_vq=1: ask for packed virtqueues. */
    packed?: boolean;
    extra?: string[];
}

let prefixSeq = 0;
export const uniquePrefix = (tag: string) => `vtopo-${tag}-${process.pid}-${prefixSeq++}`;

export class Testpmd extends TestpmdPrompt {
    constructor(readonly o: TestpmdOptions) {
        super(o.prefix);
    }

    /** Spawns testpmd; resolves at the first prompt (with server=1 only once the switch connected). */
    /** 90 s: with the whole suite running beside it, EAL's start on its one pinned CPU took over 30 s in CI. */
    async start(timeoutMs = 90_000): Promise<void> {
        const q = this.o.queues ?? 1;
        const vdev = `net_virtio_user0,path=${this.o.socket},queues=${q},mac=${this.o.mac}${q > 1 ? ',cq=1' : ''}${this.o.server ? ',server=1' : ''}${this.o.packed ? ',packed_vq=1' : ''}`;
        // A socket left by an earlier (killed) listener makes bind fail.
        if (this.o.server) rmSync(this.o.socket, { force: true });
        await this.launch([vdev], [
            '--total-num-mbufs=4096', `--rxq=${q}`, `--txq=${q}`, '--port-topology=loop',
            ...(this.o.peer ? [`--eth-peer=0,${this.o.peer}`] : []),
            ...(this.o.extra ?? []),
        ], `testpmd prompt (${this.o.socket})`, timeoutMs);
    }

    async stats(): Promise<{ rx: number; tx: number }> {
        const s = await this.cmd('show port stats 0');
        const rx = /RX-packets:\s+(\d+)/.exec(s);
        const tx = /TX-packets:\s+(\d+)/.exec(s);
        if (!rx || !tx) throw new Error(`cannot parse testpmd stats: ${s}`);
        return { rx: Number(rx[1]), tx: Number(tx[1]) };
    }
}
