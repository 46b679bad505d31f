/**
 * Two TCG Linux guests on packed virtqueues (QEMU packed=on, as the plan
 * asks for `ring packed`) ping each other through the embedded switch; one
 * of them with two queue pairs. The switch must have negotiated RING_PACKED
 * with both.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { makeVm } from '../qemu/fixtures.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { tempDir, until } from '../support/wait.js';

describe('QEMU guests on packed rings through the embedded switch', () => {
    const dir = tempDir('dp-qpk');
    const dp = new DatapathProc(dir);
    const vms: VmPlan[] = [
        makeVm({ dir, name: 'pa', cpus: 2 }, [{ mac: '52:54:00:00:3a:01', ip: '10.67.0.1/24', socketPath: path.join(dir, 'pa.sock'), queues: 2, ring: 'packed' }]),
        makeVm({ dir, name: 'pb' }, [{ mac: '52:54:00:00:3b:01', ip: '10.67.0.2/24', socketPath: path.join(dir, 'pb.sock'), ring: 'packed' }]),
    ];
    let image: { kernel: string; initrd: string };

    beforeAll(async () => {
        image = await qemu.ensureGuestImage();
        await dp.start();
    }, 300_000);
    afterAll(async () => {
        for (const vm of vms) await qemu.stopVm(vm, { timeoutMs: 3000 }).catch(() => undefined);
        await dp.stop();
        rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('the guests negotiate packed rings and ping each other', async () => {
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
        for (const vm of vms) {
            const p = vm.ports[0];
            await dp.req('add-vhost-port', { port: p.id, bridge: 'br0', socket: p.socketPath, mode: 'client', queues: p.queues, mac: p.mac });
        }
        for (const vm of vms) {
            const argv = qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image));
            expect(argv.find((w) => w.startsWith('virtio-net-pci'))).toContain(',packed=on');
            await qemu.launchVm(vm, argv);
        }
        await until('both ports connected', async () => (await dp.status()).ports.every((p) => p.vhost === 'connected'), 30_000);
        for (const vm of vms) await qemu.waitVmReady(vm, { timeoutMs: 150_000 });
        const ab = await qemu.agentPing(vms[0], '10.67.0.2', { count: 3, timeoutMs: 20_000 });
        expect(ab, `${JSON.stringify(ab)}\n${JSON.stringify((await dp.status()).ports)}`).toMatchObject({ ok: true });
        const ba = await qemu.agentPing(vms[1], '10.67.0.1', { count: 3, timeoutMs: 20_000 });
        expect(ba, JSON.stringify(ba)).toMatchObject({ ok: true });
        const st = await dp.status();
        for (const id of ['pa.eth0', 'pb.eth0']) {
            const p = st.ports.find((x) => x.id === id)!;
            expect(p, id).toMatchObject({ link: 'up', vhost: 'connected' });
            expect(p.features, id).toEqual(expect.arrayContaining(['VERSION_1', 'RING_PACKED']));
            expect(p.rx_packets, id).toBeGreaterThanOrEqual(6);
            expect(p.tx_packets, id).toBeGreaterThanOrEqual(6);
        }
        expect(st.ports.find((x) => x.id === 'pa.eth0')!.num_of_vrings).toBe(4);
    }, 240_000);
});
