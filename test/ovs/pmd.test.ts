/**
 * Parsing OvS-DPDK 3.1's `dpif-netdev/pmd-rxq-show` and `pmd-perf-show`
 * (real captures in test/ovs/fixtures: the system OvS of issue 18 with one
 * and two PMDs, a pinned port isolating its PMD, a 2-queue port whose
 * 1-vCPU guest left queue 1 disabled) and folding them into port status.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyPmdPicture, parsePmdPerfShow, parsePmdRxqShow, pollersOf, portWarnings } from '../../src/backends/ovs/pmd.js';
import type { PortStatus } from '../../src/core/status.js';

const fixture = (name: string) => readFileSync(`test/ovs/fixtures/${name}`, 'utf8');

function port(id: string, over: Partial<PortStatus> = {}): PortStatus {
    return {
        id, vm: id.split('.')[0], port: 'net0', bridge: 'sys0', datapath: 'ovs', link: 'up', vhost: 'connected',
        rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [], num_of_vrings: 2, ...over,
    };
}

describe('parsePmdRxqShow', () => {
    it('one PMD on core 1 polling three vhost ports, a disabled second queue and the user\'s DPDK port', () => {
        const pmds = parsePmdRxqShow(fixture('pmd-rxq-show.vms-mq.txt'));
        expect(pmds).toHaveLength(1);
        expect(pmds[0]).toMatchObject({ numa: 0, core: 1, isolated: false });
        expect(pmds[0].overheadPct).toBeUndefined();
        expect(pmds[0].queues).toEqual([
            { port: 'alpha.net0', queue: 0, enabled: true },
            { port: 'beta.net0', queue: 0, enabled: true },
            { port: 'gamma.net0', queue: 0, enabled: true },
            { port: 'gamma.net0', queue: 1, enabled: false },
            { port: 'ovs-ex0', queue: 0, enabled: true },
        ]);
    });

    it('reads usage % once OvS has measured an interval', () => {
        const pmds = parsePmdRxqShow(fixture('pmd-rxq-show.vms-one-pmd.txt'));
        expect(pmds[0].queues.map((q) => q.usagePct)).toEqual([0, 0, 0, 0]);
        expect(pmds[0].overheadPct).toBe(0);
    });

    it('two PMDs: each queue under its own core', () => {
        const pmds = parsePmdRxqShow(fixture('pmd-rxq-show.vms-two-pmd.txt'));
        expect(pmds.map((p) => [p.core, p.queues.map((q) => `${q.port}:${q.queue}`)])).toEqual([
            [0, ['beta.net0:0', 'gamma.net0:0', 'gamma.net0:1']],
            [1, ['alpha.net0:0', 'ovs-ex0:0']],
        ]);
    });

    it('the black hole: a pinned port isolates the PMD and the other port is listed nowhere', () => {
        const pmds = parsePmdRxqShow(fixture('pmd-rxq-show.isolated.txt'));
        expect(pmds).toEqual([{ numa: 0, core: 1, isolated: true, queues: [{ port: 'ovs-ex2', queue: 0, enabled: true }] }]);
    });
});

describe('parsePmdPerfShow', () => {
    it('per PMD: iterations, used and busy %, packets, the measuring duration', () => {
        const perf = parsePmdPerfShow(fixture('pmd-perf-show.two-pmd.txt'));
        expect(perf).toEqual([
            { numa: 0, core: 0, iterations: 6072, usedPct: 0.3, busyPct: 7.3, rxPackets: 12, txPackets: 18, durationS: 7.695 },
            { numa: 0, core: 1, iterations: 220918, usedPct: 0.2, busyPct: 3.2, rxPackets: 97, txPackets: 184, durationS: 314.473 },
        ]);
    });

    it('pollersOf joins both views by core', () => {
        const p = pollersOf(parsePmdRxqShow(fixture('pmd-rxq-show.vms-two-pmd.txt')), parsePmdPerfShow(fixture('pmd-perf-show.two-pmd.txt')));
        expect(p[1]).toEqual({ datapath: 'ovs', core: 1, numa: 0, isolated: false, busy_pct: 3.2, used_pct: 0.2, rx_packets: 97, queues: ['alpha.net0:0', 'ovs-ex0:0'] });
    });
});

describe('applyPmdPicture', () => {
    const expected = (p: PortStatus) => (p.num_of_vrings ?? 0) / 2;

    it('sets core, enabled, polled and usage on every queue, adding queues OvS lists', () => {
        const ports = [port('alpha.net0'), port('gamma.net0', { num_of_vrings: 4 })];
        applyPmdPicture(ports, parsePmdRxqShow(fixture('pmd-rxq-show.vms-two-pmd.txt')), (p) => p.id, expected, () => undefined);
        expect(ports[0].queues).toMatchObject([{ queue: 0, core: 1, enabled: true, polled: true, usage_pct: 0 }]);
        expect(ports[1].queues).toMatchObject([{ queue: 0, core: 0, enabled: true, polled: true }, { queue: 1, core: 0, enabled: false, polled: true }]);
        expect(ports[1].queues[0].usage_pct).toBeUndefined();
    });

    it('a queue no PMD lists is polled: false, with no core', () => {
        const ports = [port('ovs-ex0', { vm: undefined, num_of_vrings: undefined }), port('alpha.net0')];
        applyPmdPicture(ports, parsePmdRxqShow(fixture('pmd-rxq-show.isolated.txt')), (p) => p.id, (p) => (p.vm ? expected(p) : 1), () => undefined);
        expect(ports[0].queues).toMatchObject([{ queue: 0, polled: false }]);
        expect(ports[0].queues[0].core).toBeUndefined();
        expect(ports[1].queues).toMatchObject([{ queue: 0, polled: false }]);
    });

    it('keeps the counters OvS reported and adds the planned core where the plan pinned', () => {
        const ports = [port('alpha.net0', { queues: [{ queue: 0, rx_packets: 5, tx_packets: 6, rx_bytes: 1, tx_bytes: 2, drops: 0, kicks: 0, calls: 3, mode: 'poll', mode_switches: 0 }] })];
        applyPmdPicture(ports, parsePmdRxqShow(fixture('pmd-rxq-show.vms-two-pmd.txt')), (p) => p.id, expected, () => [0]);
        expect(ports[0].queues[0]).toMatchObject({ rx_packets: 5, calls: 3, core: 1, planned_core: 0, polled: true });
    });
});

describe('portWarnings', () => {
    const log = [
        '2026-12-01T19:55:01.357Z|00140|netdev_dpdk|WARN|Rx checksum offload is not supported on port 1',
        "2026-12-01T19:55:01.360Z|00148|dpif_netdev|WARN|No non-isolated pmd on any numa available for port 'alpha.net0' rx queue 0 (measured processing cycles 0). This rx queue will not be polled.",
        '2026-12-01T19:59:00.384Z|00234|dpdk|WARN|VHOST_CONFIG: (/run/t/vhost/gamma.net0.sock) failed to connect: No such file or directory',
        '2026-12-01T19:59:01.000Z|00235|dpdk|INFO|VHOST_CONFIG: (/run/t/vhost/gamma.net0.sock) connected',
    ];
    const names = new Map([['alpha.net0', 'alpha.net0'], ['gamma.net0', 'gamma.net0']]);
    const sockets = new Map([['/run/t/vhost/gamma.net0.sock', 'gamma.net0']]);

    it('WARN/ERR lines naming our interface or socket, within the window only', () => {
        expect(portWarnings(log, names, sockets, Date.parse('2026-12-01T19:50:00Z')).map((w) => w.port)).toEqual(['alpha.net0', 'gamma.net0']);
        expect(portWarnings(log, names, sockets, Date.parse('2026-12-01T19:58:00Z'))).toEqual([
            { port: 'gamma.net0', message: 'OvS WARN (dpdk): VHOST_CONFIG: (/run/t/vhost/gamma.net0.sock) failed to connect: No such file or directory' },
        ]);
        expect(portWarnings(log, names, sockets, Date.parse('2026-12-01T20:00:00Z'))).toEqual([]);
    });
});
