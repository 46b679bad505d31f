/**
 * Two default guests wired through a real vhost-user peer (dpdk-testpmd
 * io-forwarding between two net_vhost ports): one port in each vhost mode.
 * The agent's ping and iperf3 cross the wire, which is what `vtopo verify` uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { makeVm } from './fixtures.js';
import { startTestpmd, type Testpmd } from './testpmd.js';

describe('two guests through testpmd (client and server vhost modes)', () => {
    const dir = mkdtempSync('/tmp/vtopo-qp-');
    // a: QEMU serves its socket (topology `vhost client`); b: testpmd serves, QEMU reconnects.
    // Both 2 vCPUs with 2-queue ports, so queue 1 can be exercised (TCG: vectors=0, one shared INTx line).
    const a: VmPlan = makeVm({ dir, name: 'a', cpus: 2 }, [{ ip: '10.88.0.1/24', mac: '52:54:00:88:00:01', socketPath: path.join(dir, 'a.sock'), vhostMode: 'client', queues: 2 }]);
    const b: VmPlan = makeVm({ dir, name: 'b', cpus: 2 }, [{ ip: '10.88.0.2/24', mac: '52:54:00:88:00:02', socketPath: path.join(dir, 'b.sock'), vhostMode: 'server', queues: 2 }]);
    let wire: Testpmd | undefined;

    beforeAll(async () => {
        const image = await qemu.ensureGuestImage();
        wire = startTestpmd({
            ports: [{ socket: a.ports[0].socketPath, client: true }, { socket: b.ports[0].socketPath, client: false }],
            queues: 2,
            prefix: `vtopo-qp-${process.pid}`,
        });
        for (const vm of [a, b]) await qemu.launchVm(vm, qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image)));
        // Forwarding busy-polls a core: start it only once both guests have booted.
        await Promise.all([a, b].map((vm) => qemu.waitVmReady(vm, { timeoutMs: 150_000 })));
        wire.command('start');
    }, 200_000);

    afterAll(async () => {
        await Promise.all([a, b].map((vm) => qemu.stopVm(vm, { timeoutMs: 5000 }).catch(() => undefined)));
        await wire?.stop();
        rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    it('each guest sees its port up, named and addressed as planned', async () => {
        for (const vm of [a, b]) {
            const eth0 = (await qemu.agentInterfaces(vm)).find((i) => i.name === 'eth0');
            expect(eth0).toMatchObject({ mac: vm.ports[0].mac, up: true, queues: 2 });
        }
    });

    it('ping crosses the wire both ways, with an rtt', async () => {
        const ab = await qemu.agentPing(a, '10.88.0.2', { count: 3, timeoutMs: 15_000 });
        expect(ab.ok, ab.error).toBe(true);
        expect(ab.rtt_ms).toBeGreaterThan(0);
        const ba = await qemu.agentPing(b, '10.88.0.1', { count: 2, timeoutMs: 15_000 });
        expect(ba.ok, ba.error).toBe(true);
        const before = (await qemu.agentInterfaces(b)).find((i) => i.name === 'eth0')!;
        expect(before.rx_packets).toBeGreaterThan(0);
    }, 40_000);

    it('iperf3: TCP gives a rate; UDP sent from vCPU 1 crosses on queue pair 1 end to end', async () => {
        const q1 = async () => {
            const [qa, qb] = [await qemu.agentQueueStats(a, 'eth0'), await qemu.agentQueueStats(b, 'eth0')];
            return { aTx: qa[1].tx_packets, aTx0: qa[0].tx_packets, bRx: qb[1].rx_packets, aTxBytes: qa[1].tx_bytes };
        };
        const tcp = await qemu.agentIperf3(a, '10.88.0.2', { seconds: 2 });
        expect(tcp.ok, tcp.error).toBe(true);
        expect(tcp.mbps).toBeGreaterThan(0);
        // UDP sends always run in the sender's context: pinned to vCPU 1, XPS puts them all on queue 1.
        const before1 = await q1();
        const r = await qemu.agentIperf3(a, '10.88.0.2', { seconds: 2, cpu: 1, udp: true });
        expect(r.ok, r.error).toBe(true);
        expect(r.mbps).toBeGreaterThan(0);
        const after = await q1();
        const before = before1;
        expect(after.aTx - before.aTx).toBeGreaterThan(1000);
        expect(after.aTx - before.aTx).toBeGreaterThan(10 * (after.aTx0 - before.aTx0));
        expect(after.bRx - before.bRx).toBeGreaterThan(1000);
        console.log(`iperf3 a→b TCP ${tcp.mbps} Mbit/s; UDP from vCPU 1 ${r.mbps} Mbit/s; a.tx q0 +${after.aTx0 - before.aTx0} q1 +${after.aTx - before.aTx}; b.rx q1 +${after.bRx - before.bRx}`);
    }, 40_000);
});
