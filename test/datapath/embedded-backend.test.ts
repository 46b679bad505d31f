/** The embedded backend as the runtime drives it: from a Plan, through a real datapath process. */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedBackend, startCapture, stopCapture } from '../../src/backends/embedded/index.js';
import type { Plan, VmPortPlan } from '../../src/core/plan.js';
import { alive, readPidFile } from '../../src/host/procs.js';
import { Testpmd, uniquePrefix } from './peers.js';
import { tempDir, until } from '../support/wait.js';

function vmPort(dir: string, vm: string, mac: string, mode: 'client' | 'server'): VmPortPlan {
    return {
        id: `${vm}.eth0`, vm, name: 'eth0', bridge: 'br0', datapath: 'embedded', mac, mtu: 1500, queues: 1,
        vhostMode: mode, socketPath: path.join(dir, `${vm}.sock`), mrgRxbuf: true, vectors: 0, queueCores: [0],
    };
}

function planIn(dir: string): Plan {
    const ports = [vmPort(dir, 'a', '52:54:00:00:1a:01', 'server'), vmPort(dir, 'b', '52:54:00:00:1b:01', 'server')];
    return {
        version: 1, topology: 'bt', sourceFile: path.join(dir, 'bt.vtopo'), runDir: dir,
        host: { cores: [0, 1], memoryBytes: 1 << 30, pollCores: [] },
        datapaths: { embedded: { controlSocket: path.join(dir, 'dp.sock'), pidFile: path.join(dir, 'dp.pid'), logFile: path.join(dir, 'dp.log'), pollCores: [] } },
        bridges: [{ name: 'br0', datapath: 'embedded', mtu: 1500 }, { name: 'br1', datapath: 'embedded', mtu: 1500 }],
        links: [{ id: 'br0--br1', a: 'br0', b: 'br1' }],
        nics: [],
        vms: ports.map((p) => ({
            name: p.vm, cpus: 1, memoryBytes: 256 << 20, accelRequested: 'tcg', accel: 'tcg', image: { kind: 'default' }, memoryBackend: { kind: 'memfd' },
            qmpSocket: '', agentSocket: '', consoleSocket: '', serialLog: '', qemuLog: '', pidFile: '', ports: [p],
        })),
        notes: [],
    } as Plan;
}

describe('embedded backend', () => {
    const dir = tempDir('dp-backend');
    const plan = planIn(dir);
    const pmds: Testpmd[] = [];
    afterAll(async () => {
        for (const t of pmds) t.kill();
        await embeddedBackend.stop(plan).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
    });

    it('starts, applies a plan, reports status, captures, and stops cleanly', async () => {
        expect(await embeddedBackend.running(plan)).toBe(false);
        await embeddedBackend.start(plan);
        await embeddedBackend.start(plan); // idempotent
        const pid = readPidFile(plan.datapaths.embedded!.pidFile)!;
        expect(alive(pid)).toBe(true);
        expect(statSync(plan.datapaths.embedded!.controlSocket).mode & 0o777).toBe(0o600);
        for (const b of plan.bridges) await embeddedBackend.addBridge(plan, b);
        await embeddedBackend.addLink(plan, plan.links[0]);
        for (const vm of plan.vms) await embeddedBackend.addVmPort(plan, vm.ports[0]);
        await embeddedBackend.addVmPort(plan, plan.vms[0].ports[0]); // idempotent
        expect(await embeddedBackend.inventory(plan)).toEqual({ bridges: ['br0', 'br1'], links: ['br0--br1'], vmPorts: ['a.eth0', 'b.eth0'], nics: [] });
        let snap = await embeddedBackend.snapshot(plan);
        expect(snap.datapath).toMatchObject({ kind: 'embedded', running: true, pid });
        expect(snap.ports.map((p) => [p.id, p.vm, p.port, p.link, p.vhost])).toEqual([
            ['a.eth0', 'a', 'eth0', 'down', 'waiting'],
            ['b.eth0', 'b', 'eth0', 'down', 'waiting'],
        ]);
        await expect(embeddedBackend.addNic(plan, { name: 'n', bridge: 'br0', datapath: 'embedded', driver: { kind: 'pci', address: '0000:03:00.0' }, queues: 1, rss: [], mtu: 1500 })).rejects.toMatchObject({ name: 'VtopoError' });

        const [pa, pb] = plan.vms.map((v) => v.ports[0]);
        const A = new Testpmd({ socket: pa.socketPath, mac: pa.mac, peer: pb.mac, prefix: uniquePrefix('ba') });
        const B = new Testpmd({ socket: pb.socketPath, mac: pb.mac, peer: pa.mac, prefix: uniquePrefix('bb') });
        pmds.push(A, B);
        await A.start();
        await B.start();
        for (const t of [A, B]) await t.cmd('set fwd rxonly');
        await B.cmd('start');
        const pcap = path.join(dir, 'b.pcap');
        await startCapture(plan, 'b.eth0', pcap);
        await A.cmd('start tx_first 2');
        await until('B receives 64', async () => (await B.stats()).rx === 64);
        const cap = await stopCapture(plan, 'b.eth0');
        expect(cap.frames).toBe(64);
        const bytes = readFileSync(pcap);
        expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
        expect(bytes.length).toBe(24 + 64 * (16 + 64)); // testpmd txonly frames are 64 B
        snap = await embeddedBackend.snapshot(plan);
        const sb = snap.ports.find((p) => p.id === 'b.eth0')!;
        expect(sb).toMatchObject({ link: 'up', vhost: 'connected', tx_packets: 64, datapath: 'embedded' });
        expect(sb.queues[0]).toMatchObject({ queue: 0, tx_packets: 64 });
        expect(typeof sb.queues[0].mode_switches).toBe('number');
        await A.quit();
        await B.quit();

        await embeddedBackend.removeVmPort(plan, 'a.eth0');
        await embeddedBackend.removeLink(plan, 'br0--br1');
        await embeddedBackend.removeBridge(plan, 'br1');
        expect(await embeddedBackend.inventory(plan)).toEqual({ bridges: ['br0'], links: [], vmPorts: ['b.eth0'], nics: [] });

        await embeddedBackend.stop(plan);
        expect(alive(pid)).toBe(false);
        expect(existsSync(plan.datapaths.embedded!.controlSocket)).toBe(false);
        expect(existsSync(pb.socketPath)).toBe(false);
        const snapDown = await embeddedBackend.snapshot(plan);
        expect(snapDown.datapath.running).toBe(false);
        expect(snapDown.ports.every((p) => p.link === 'down')).toBe(true);
        await embeddedBackend.stop(plan); // already gone is success
    }, 90_000);

    it('reports a link per direction: what crossed each way, and what the link\'s impairment did to it', async () => {
        // a on br0, b on br1: everything a sends to b crosses the link br0 → br1.
        const lp: Plan = { ...plan, vms: plan.vms.map((v, i) => ({ ...v, ports: v.ports.map((p) => ({ ...p, bridge: i === 0 ? 'br0' : 'br1' })) })) };
        await embeddedBackend.start(lp);
        try {
            for (const b of lp.bridges) await embeddedBackend.addBridge(lp, b);
            await embeddedBackend.addLink(lp, lp.links[0]);
            for (const vm of lp.vms) await embeddedBackend.addVmPort(lp, vm.ports[0]);
            await embeddedBackend.setImpair(lp, { link: 'br0--br1' }, { lossPct: 50, delayUs: 1000 });
            const [pa, pb] = lp.vms.map((v) => v.ports[0]);
            const A = new Testpmd({ socket: pa.socketPath, mac: pa.mac, peer: pb.mac, prefix: uniquePrefix('la') });
            const B = new Testpmd({ socket: pb.socketPath, mac: pb.mac, peer: pa.mac, prefix: uniquePrefix('lb') });
            pmds.push(A, B);
            await A.start();
            await B.start();
            for (const t of [A, B]) await t.cmd('set fwd rxonly');
            await B.cmd('start');
            await A.cmd('start tx_first 8'); // 256 frames
            const dirOf = async () => (await embeddedBackend.snapshot(lp)).links?.[0];
            await until('the delay line drains', async () => {
                const d = (await dirOf())?.directions[0];
                return !!d?.impair && d.impair.backlog === 0 && d.packets + d.impair.dropped_loss === 256;
            });
            const l = (await dirOf())!;
            expect(l).toMatchObject({ id: 'br0--br1', datapath: 'embedded', link: 'up' });
            const [ab, ba] = l.directions;
            expect([ab.from, ab.to, ba.from, ba.to]).toEqual(['br0', 'br1', 'br1', 'br0']);
            expect(ab.impair!.set).toEqual({ lossPct: 50, delayUs: 1000 });
            // A seeded RNG at 50 %: far from none and from all.
            expect(ab.impair!.dropped_loss).toBeGreaterThan(64);
            expect(ab.impair!.dropped_loss).toBeLessThan(192);
            expect(ab.impair!.delayed).toBe(ab.packets);
            expect((await B.stats()).rx).toBe(ab.packets);
            // Nothing came back (b only receives), and that direction carries the same impairment.
            expect(ba.packets).toBe(0);
            expect(ba.impair).toMatchObject({ set: { lossPct: 50, delayUs: 1000 }, delayed: 0, dropped_loss: 0 });
            await A.quit();
            await B.quit();
        } finally {
            await embeddedBackend.stop(lp);
        }
    }, 240_000);

    it('stops a datapath that was killed -9 and one that hangs', async () => {
        await embeddedBackend.start(plan);
        const pid = readPidFile(plan.datapaths.embedded!.pidFile)!;
        await embeddedBackend.addBridge(plan, plan.bridges[0]);
        await embeddedBackend.addVmPort(plan, plan.vms[0].ports[0]);
        process.kill(pid, 'SIGSTOP'); // hung: answers nothing
        expect(await embeddedBackend.running(plan)).toBe(false);
        await embeddedBackend.stop(plan);
        expect(alive(pid)).toBe(false);
        expect(existsSync(plan.vms[0].ports[0].socketPath)).toBe(false);
        await embeddedBackend.start(plan);
        const pid2 = readPidFile(plan.datapaths.embedded!.pidFile)!;
        process.kill(pid2, 'SIGKILL');
        await until('killed', () => !alive(pid2));
        await embeddedBackend.stop(plan);
        expect(existsSync(plan.datapaths.embedded!.controlSocket)).toBe(false);
    }, 60_000);
});
