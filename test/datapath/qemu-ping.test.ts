/**
 * Two TCG guests ping each other through the embedded switch (vhost client
 * mode: QEMU serves the socket, the switch connects), and a host tap in a
 * network namespace pings a guest. Guests come from the QEMU backend.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { makeVm } from '../qemu/fixtures.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { tempDir, until } from '../support/wait.js';

describe('two QEMU guests through the embedded switch', () => {
    const dir = tempDir('dp-qemu');
    const dp = new DatapathProc(dir);
    const netns = `vtopo-dpq-${process.pid}`;
    const tap = `vtq${process.pid % 10000}`;
    const vms: VmPlan[] = [
        // Two vCPUs and two queue pairs: the guest enables both (ethtool -L), the switch serves 4 vrings.
        makeVm({ dir, name: 'ga', cpus: 2 }, [{ mac: '52:54:00:00:2a:01', ip: '10.66.0.1/24', socketPath: path.join(dir, 'ga.sock'), queues: 2 }]),
        makeVm({ dir, name: 'gb' }, [{ mac: '52:54:00:00:2b:01', ip: '10.66.0.2/24', socketPath: path.join(dir, 'gb.sock') }]),
    ];
    let image: { kernel: string; initrd: string };

    beforeAll(async () => {
        image = await qemu.ensureGuestImage();
        await dp.start();
    }, 300_000);
    afterAll(async () => {
        for (const vm of vms) await qemu.stopVm(vm, { timeoutMs: 3000 }).catch(() => undefined);
        await dp.stop();
        try { execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' }); } catch { /* none */ }
        rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('guests ping each other, a host tap pings a guest, status shows per-queue counters', async () => {
        await dp.req('add-bridge', { name: 'br0', mtu: 1500 });
        for (const vm of vms) {
            const p = vm.ports[0];
            await dp.req('add-vhost-port', { port: p.id, bridge: 'br0', socket: p.socketPath, mode: 'client', queues: p.queues, mac: p.mac });
        }
        for (const vm of vms) await qemu.launchVm(vm, qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image)));
        await until('both ports connected', async () => (await dp.status()).ports.every((p) => p.vhost === 'connected'), 30_000);
        for (const vm of vms) await qemu.waitVmReady(vm, { timeoutMs: 150_000 });
        const ab = await qemu.agentPing(vms[0], '10.66.0.2', { count: 3, timeoutMs: 20_000 });
        expect(ab, JSON.stringify(ab)).toMatchObject({ ok: true });
        const ba = await qemu.agentPing(vms[1], '10.66.0.1', { count: 3, timeoutMs: 20_000 });
        expect(ba, JSON.stringify(ba)).toMatchObject({ ok: true });

        execFileSync('ip', ['netns', 'add', netns]);
        await dp.req('add-tap', { port: 'host', bridge: 'br0', ifname: tap, queues: 1, mtu: 1500 });
        const ns = (...a: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...a], { stdio: 'pipe' }).toString();
        execFileSync('ip', ['link', 'set', tap, 'netns', netns]);
        ns('ip', 'addr', 'add', '10.66.0.9/24', 'dev', tap);
        ns('ip', 'link', 'set', tap, 'up');
        let out = '';
        try {
            out = ns('busybox', 'ping', '-c', '4', '-W', '5', '10.66.0.1');
        } catch (e) {
            out = String((e as { stdout?: Buffer }).stdout ?? e);
        }
        expect(out, `${out}\n${JSON.stringify((await dp.status()).ports.find((p) => p.id === 'host'))}`).toMatch(/[34] packets received/);

        const st = await dp.status();
        const pa = st.ports.find((p) => p.id === 'ga.eth0')!;
        expect(pa).toMatchObject({ link: 'up', vhost: 'connected', num_of_vrings: 4 });
        expect(pa.queues.length).toBe(2);
        expect(pa.features).toEqual(expect.arrayContaining(['VERSION_1', 'MRG_RXBUF', 'RING_EVENT_IDX']));
        // Which pair carries the pings is the guest's (tx) and the flow hash's (rx) choice.
        const q = pa.queues.reduce((a, b) => ({ ...a, rx_packets: a.rx_packets + b.rx_packets, tx_packets: a.tx_packets + b.tx_packets, kicks: a.kicks + b.kicks, calls: a.calls + b.calls, mode_switches: a.mode_switches + b.mode_switches, avail_idx: Math.max(a.avail_idx ?? 0, b.avail_idx ?? 0) }));
        expect(q.rx_packets).toBeGreaterThanOrEqual(6);
        expect(q.tx_packets).toBeGreaterThanOrEqual(6);
        // Sparse pings: the queue sleeps on its kick fd between them and is woken by kicks.
        expect(q.kicks).toBeGreaterThan(0);
        expect(q.calls).toBeGreaterThan(0);
        expect(q.mode_switches).toBeGreaterThan(0);
        expect(q.avail_idx).toBeGreaterThan(0);
    }, 240_000);
});
