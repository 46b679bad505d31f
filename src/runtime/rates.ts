/**
 * Per-second rates between two Status snapshots (for `vtopo status
 * --watch`). PURE. Counters that went backwards (a port re-created, a
 * guest restarted) restart from zero: the rate is then undefined rather
 * than negative.
 */
import type { PortStatus, QueueStatus, Status } from '../core/status.js';

export interface Rate {
    rx_pps: number;
    tx_pps: number;
    rx_mbps: number;
    tx_mbps: number;
    drops_ps: number;
}

export interface PortRates extends Rate {
    queues: Record<number, Rate>;
}

export interface Rates {
    /** Seconds between the two snapshots. */
    seconds: number;
    /** By port id; a port or queue missing from either snapshot, or whose counters were reset, is absent. */
    ports: Record<string, PortRates>;
}

type Counters = Pick<PortStatus | QueueStatus, 'rx_packets' | 'tx_packets' | 'rx_bytes' | 'tx_bytes' | 'drops'>;

function rate(a: Counters, b: Counters, dt: number): Rate | undefined {
    const d = (k: keyof Counters) => b[k] - a[k];
    if ((['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'drops'] as const).some((k) => d(k) < 0)) return undefined;
    return {
        rx_pps: d('rx_packets') / dt,
        tx_pps: d('tx_packets') / dt,
        rx_mbps: (d('rx_bytes') * 8) / 1e6 / dt,
        tx_mbps: (d('tx_bytes') * 8) / 1e6 / dt,
        drops_ps: d('drops') / dt,
    };
}

export function computeRates(prev: Status, now: Status): Rates {
    const seconds = (Date.parse(now.at) - Date.parse(prev.at)) / 1000;
    const out: Rates = { seconds, ports: {} };
    if (!(seconds > 0)) return out;
    const before = new Map(prev.ports.map((p) => [p.id, p]));
    for (const p of now.ports) {
        const a = before.get(p.id);
        if (!a) continue;
        const r = rate(a, p, seconds);
        if (!r) continue;
        const queues: Record<number, Rate> = {};
        for (const q of p.queues) {
            const qa = a.queues.find((x) => x.queue === q.queue);
            const qr = qa && rate(qa, q, seconds);
            if (qr) queues[q.queue] = qr;
        }
        out.ports[p.id] = { ...r, queues };
    }
    return out;
}
