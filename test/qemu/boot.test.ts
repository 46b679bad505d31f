/**
 * One real TCG boot of the default guest, shared by every assertion here:
 * 2 vCPUs, one 2-queue vhost-user port (QEMU server=on) whose peer is
 * dpdk-testpmd's vhost PMD. Ends with a real kernel panic seen via pvpanic.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { makeVm } from './fixtures.js';
import { readPidFile } from '../../src/host/procs.js';
import { startTestpmd, type Testpmd } from './testpmd.js';

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(cond()).toBe(true);
}

/** Types a command on the guest's serial console and waits for `marker` in its output. */
async function consoleRun(vm: VmPlan, command: string, marker: string): Promise<void> {
    const sock = connect(vm.consoleSocket);
    let seen = '';
    try {
        await new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`no ${marker} on the console; saw: ${seen.slice(-300)}`)), 15_000);
            sock.on('error', reject);
            sock.on('data', (d) => {
                seen += d.toString('latin1');
                if (seen.includes(marker)) { clearTimeout(t); resolve(); }
            });
            sock.on('connect', () => sock.write(`\n${command}\n`));
        });
    } finally {
        sock.destroy();
    }
}

describe('default guest under TCG, 2 vCPUs, 2-queue port on testpmd', () => {
    const dir = mkdtempSync('/tmp/vtopo-qb-');
    const vm: VmPlan = makeVm({ dir, name: 'mq', cpus: 2, pin: [1, 0] }, [{ name: 'eth0', queues: 2, ip: '10.77.0.1/24', mtu: 1400, socketPath: path.join(dir, 'mq.eth0.sock') }]);
    let peer: Testpmd | undefined;
    const progress: string[] = [];

    beforeAll(async () => {
        const image = await qemu.ensureGuestImage();
        peer = startTestpmd({ socket: vm.ports[0].socketPath, queues: 2, client: true, prefix: `vtopo-qb-${process.pid}` });
        await qemu.launchVm(vm, qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image)));
        await qemu.waitVmReady(vm, { timeoutMs: 150_000, onProgress: (m) => progress.push(m) });
    }, 200_000);

    afterAll(async () => {
        await qemu.stopVm(vm, { timeoutMs: 5000 }).catch(() => undefined);
        await peer?.stop();
        rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    it('reaches readiness and reports progress on the way', () => {
        expect(progress).toContain('guest up, asking its agent');
    });

    it('vmStatus from the plan alone: running under TCG with a ready agent', async () => {
        const s = await qemu.vmStatus(vm);
        expect(s).toMatchObject({ name: 'mq', state: 'running', accel: 'tcg', agent: 'ready' });
        expect(s.pid).toBeGreaterThan(1);
    });

    it('QMP: handshake and query-status', async () => {
        const q = await qemu.QmpClient.connect(vm.qmpSocket);
        try {
            expect(q.version?.major).toBeGreaterThanOrEqual(7);
            expect(await q.queryStatus()).toMatchObject({ status: 'running', running: true });
            await expect(q.execute('no-such-command')).rejects.toMatchObject({ qmpClass: 'CommandNotFound' });
        } finally {
            q.close();
        }
    });

    it('the guest names its NIC after the topology port and sees 2 queue pairs', async () => {
        const ifs = await qemu.agentInterfaces(vm);
        const eth0 = ifs.find((i) => i.name === 'eth0');
        expect(eth0, JSON.stringify(ifs)).toBeDefined();
        expect(eth0!.mac).toBe(vm.ports[0].mac);
        expect(eth0!.mtu).toBe(1400);
        expect(eth0!.queues).toBe(2);
        expect(eth0!.addrs).toContain('10.77.0.1/24');
        expect(typeof eth0!.tx_packets).toBe('number');
    });

    it('vCPU threads are pinned as the plan says (vCPU i on pin[i])', () => {
        const pid = readPidFile(vm.pidFile)!;
        const pinned: Record<string, string> = {};
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
            const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
            const m = /^CPU (\d+)\/TCG$/.exec(comm);
            if (m) pinned[m[1]] = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1];
        }
        expect(pinned).toEqual({ 0: '1', 1: '0' });
    });

    it('the serial console socket gives a shell in the guest', async () => {
        await consoleRun(vm, 'echo vtopo-$((6*7))', 'vtopo-42');
        // QEMU writes the chardev's logfile after the socket: give it a moment.
        const until = Date.now() + 5000;
        while (!readFileSync(vm.serialLog, 'utf8').includes('vtopo-42') && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 100));
        }
        expect(readFileSync(vm.serialLog, 'utf8')).toContain('vtopo-42');
    });

    it('QMP events: stop → STOP, vmStatus says paused, cont → RESUME', async () => {
        let q = await qemu.QmpClient.connect(vm.qmpSocket);
        const events: string[] = [];
        const collect = (e: qemu.QmpEvent) => events.push(e.event);
        q.on('event', collect);
        await q.execute('stop');
        await waitUntil(() => events.includes('STOP'));
        q.close(); // the plan's QMP socket serves one client at a time
        expect(await qemu.vmStatus(vm)).toMatchObject({ state: 'stopped', reason: 'QEMU status paused' });
        q = await qemu.QmpClient.connect(vm.qmpSocket);
        q.on('event', collect);
        await q.execute('cont');
        await waitUntil(() => events.includes('RESUME'));
        q.close();
        expect((await qemu.vmStatus(vm)).state).toBe('running');
    });

    it('agent ping: its own address answers, an absent peer does not', async () => {
        const ok = await qemu.agentPing(vm, '10.77.0.1', { count: 1 });
        expect(ok.ok, ok.error).toBe(true);
        expect(ok.rtt_ms).toBeGreaterThanOrEqual(0);
        const bad = await qemu.agentPing(vm, '10.77.0.99', { count: 1, timeoutMs: 5000 });
        expect(bad.ok).toBe(false);
        expect(bad.error).toBeTruthy();
    });

    it('the receive filter the guest sets reaches status: its MAC, then promiscuous mode (NIC_RX_FILTER_CHANGED → query-rx-filter)', async () => {
        await waitUntil(() => existsSync(qemu.vmFiles(vm).rxFilter), 20_000);
        let s = await qemu.vmStatus(vm);
        expect(s.rx_filters?.eth0, JSON.stringify(s)).toMatchObject({ mac: vm.ports[0].mac, promiscuous: false });
        await consoleRun(vm, 'ip link set eth0 promisc on && echo vtopo-promisc-$((1+1))', 'vtopo-promisc-2');
        const end = Date.now() + 20_000;
        while (!(s = await qemu.vmStatus(vm)).rx_filters?.eth0?.promiscuous && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
        expect(s.rx_filters?.eth0?.promiscuous, JSON.stringify(s.rx_filters)).toBe(true);
        await consoleRun(vm, 'ip link set eth0 promisc off && echo vtopo-promisc-$((2+1))', 'vtopo-promisc-3');
    });

    it('a guest kernel panic is seen as a QMP event and reported by vmStatus as crashed', async () => {
        const q = await qemu.QmpClient.connect(vm.qmpSocket);
        const events: string[] = [];
        q.on('event', (e: qemu.QmpEvent) => events.push(e.event));
        const eof = new Promise<void>((r) => q.on('close', () => r()));
        const r = await qemu.agentRequest(vm, 'crash');
        expect(r.ok).toBe(true);
        await eof; // QEMU exits (panic action: shutdown), the client sees EOF
        expect(events).toContain('GUEST_PANICKED');
        await expect(q.execute('query-status')).rejects.toThrow(/closed|not connected/);
        let s = await qemu.vmStatus(vm);
        for (let i = 0; i < 20 && s.state !== 'crashed'; i++) {
            await new Promise((res) => setTimeout(res, 200));
            s = await qemu.vmStatus(vm);
        }
        expect(s.state).toBe('crashed');
        expect(s.reason).toMatch(/guest panicked \(pvpanic\)/);
        expect(s.reason).toMatch(/Kernel panic/);
        // Stopping what is already gone succeeds and keeps the verdict.
        await qemu.stopVm(vm);
        expect((await qemu.vmStatus(vm)).state).toBe('crashed');
    });
});
