/**
 * Two default guests wired through a real vhost-user peer (dpdk-testpmd
 * io-forwarding between two net_vhost ports): one port in each vhost mode.
 * The agent's ping and iperf3 cross the wire, which is what `vtopo verify` uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/plan/types.js';
import { makeVm } from './fixtures.js';
import { startTestpmd, type Testpmd } from './testpmd.js';

describe('two guests through testpmd (client and server vhost modes)', () => {
    const dir = mkdtempSync('/tmp/vtopo-qp-');
    // a: QEMU serves its socket (topology `vhost client`); b: testpmd serves, QEMU reconnects.
    const a: VmPlan = makeVm({ dir, name: 'a' }, [{ ip: '10.88.0.1/24', mac: '52:54:00:88:00:01', socketPath: path.join(dir, 'a.sock'), vhostMode: 'client' }]);
    const b: VmPlan = makeVm({ dir, name: 'b' }, [{ ip: '10.88.0.2/24', mac: '52:54:00:88:00:02', socketPath: path.join(dir, 'b.sock'), vhostMode: 'server' }]);
    let wire: Testpmd | undefined;

    beforeAll(async () => {
        const image = await qemu.ensureGuestImage();
        wire = startTestpmd({
            ports: [{ socket: a.ports[0].socketPath, client: true }, { socket: b.ports[0].socketPath, client: false }],
            queues: 1,
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
            expect(eth0).toMatchObject({ mac: vm.ports[0].mac, up: true, queues: 1 });
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

    it('iperf3 from one guest to the other reports a rate', async () => {
        const r = await qemu.agentIperf3(a, '10.88.0.2', { seconds: 2 });
        expect(r.ok, r.error).toBe(true);
        expect(r.mbps).toBeGreaterThan(0);
    }, 40_000);
});
