/**
 * `vtopo status --watch`: per-second rates between two Status snapshots
 * (pure), and the frames it writes (in place on a terminal).
 */
import { describe, expect, it } from 'vitest';
import type { PortStatus, Status } from '../../src/core/status.js';
import { formatStatus, watchFrame } from '../../src/runtime/format.js';
import { computeRates } from '../../src/runtime/rates.js';

function port(id: string, rx: number, tx: number, bytes: number, drops: number, queues: [number, number][] = []): PortStatus {
    return {
        id, vm: id.split('.')[0], port: 'eth0', bridge: 'br0', datapath: 'ovs', link: 'up', vhost: 'connected',
        rx_packets: rx, tx_packets: tx, rx_bytes: bytes, tx_bytes: bytes * 2, drops,
        queues: queues.map(([qrx, qdrops], queue) => ({ queue, rx_packets: qrx, tx_packets: 0, rx_bytes: qrx * 100, tx_bytes: 0, drops: qdrops, kicks: 0, calls: 0, mode: 'poll' as const, mode_switches: 0 })),
    };
}

function status(at: string, ports: PortStatus[]): Status {
    return { topology: 'lab', file: '/x/lab.vtopo', deployed: true, at, datapaths: [], vms: [], ports };
}

describe('computeRates', () => {
    it('pps, Mbit/s and drops/s per port and per queue over the time between the snapshots', () => {
        const a = status('2026-01-01T00:00:00.000Z', [port('a.eth0', 100, 50, 1000, 0, [[60, 0], [40, 0]])]);
        const b = status('2026-01-01T00:00:02.000Z', [port('a.eth0', 2100, 1050, 251_000, 10, [[1060, 4], [1040, 6]])]);
        const r = computeRates(a, b);
        expect(r.seconds).toBe(2);
        expect(r.ports['a.eth0']).toMatchObject({ rx_pps: 1000, tx_pps: 500, rx_mbps: 1, tx_mbps: 2, drops_ps: 5 });
        expect(r.ports['a.eth0'].queues[0]).toEqual({ rx_pps: 500, tx_pps: 0, rx_mbps: 0.4, tx_mbps: 0, drops_ps: 2 });
        expect(r.ports['a.eth0'].queues[1].drops_ps).toBe(3);
    });

    it('counters that went backwards (a restarted guest) give no rate rather than a negative one; new ports none either', () => {
        const a = status('2026-01-01T00:00:00Z', [port('a.eth0', 500, 500, 5000, 0, [[500, 0]])]);
        const b = status('2026-01-01T00:00:01Z', [port('a.eth0', 3, 2, 300, 0, [[3, 0]]), port('b.eth0', 9, 9, 9, 0)]);
        expect(computeRates(a, b).ports).toEqual({});
    });

    it('no time between the snapshots: no rates', () => {
        const a = status('2026-01-01T00:00:00Z', [port('a.eth0', 1, 1, 1, 0)]);
        expect(computeRates(a, a)).toEqual({ seconds: 0, ports: {} });
    });
});

describe('status --watch frames', () => {
    it('the port table gains per-second columns, per port and per queue', () => {
        const a = status('2026-01-01T00:00:00Z', [port('a.eth0', 0, 0, 0, 0, [[0, 0], [0, 0]])]);
        const b = status('2026-01-01T00:00:01Z', [port('a.eth0', 1500, 0, 125_000, 0, [[1000, 0], [500, 0]])]);
        const text = formatStatus(b, computeRates(a, b));
        expect(text).toMatch(/PORT +BRIDGE .*RX_PPS +TX_PPS +RX_MBIT\/S +TX_MBIT\/S +DROPS\/S/);
        expect(text).toMatch(/a\.eth0 .* 1500 +0 +1\.00 +2\.00 +0/);
        expect(text).toMatch(/ {2}q1 .* 500 +0 +0\.40 +0\.00 +0/);
        expect(formatStatus(b)).not.toContain('RX_PPS');
    });

    it('on a terminal a frame homes the cursor and clears the screen; piped, frames follow each other', () => {
        expect(watchFrame('body\n', 1, true)).toBe('\x1b[H\x1b[2Jevery 1s · Ctrl-C to stop\nbody\n');
        expect(watchFrame('body\n', 2, false)).toBe('every 2s · Ctrl-C to stop\nbody\n\n');
    });
});

describe('status tables: the PMD and queue picture', () => {
    it('a QUEUE table (core, planned, enabled, mode, polled, usage) and a POLLER table', () => {
        const p = port('a.eth0', 0, 0, 0, 0, [[0, 0], [0, 0]]);
        Object.assign(p.queues[0], { core: 1, planned_core: 1, enabled: true, polled: true, usage_pct: 3 });
        Object.assign(p.queues[1], { enabled: false, polled: false });
        const s = { ...status('2026-01-01T00:00:00Z', [p]), pollers: [{ datapath: 'ovs' as const, core: 1, numa: 0, isolated: false, busy_pct: 3.2, used_pct: 0.2, queues: ['a.eth0:0'] }] };
        const text = formatStatus(s);
        expect(text).toMatch(/QUEUE OF +Q +CORE +PLANNED +ENABLED +MODE +POLLED +USAGE/);
        expect(text).toMatch(/a\.eth0 +0 +1 +1 +yes +poll +yes +3%/);
        expect(text).toMatch(/a\.eth0 +1 +- +- +no +poll +NO +-/);
        expect(text).toMatch(/ovs pmd +1 +0 +no +3\.2% +0\.2% +a\.eth0:0/);
    });
});
