/** `vtopo status` text: links per direction and what each impairment did. */
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/runtime/format.js';
import type { ImpairStatus, Status } from '../../src/core/status.js';

const counters = (over: Partial<ImpairStatus>): ImpairStatus => ({ set: {}, delayed: 0, dropped_loss: 0, dropped_limit: 0, duplicated: 0, reordered: 0, backlog: 0, ...over });

const status: Status = {
    topology: 'lab', file: '/x/lab.vtopo', deployed: true, at: 'now',
    datapaths: [{ kind: 'embedded', running: true }],
    vms: [{ name: 'b', state: 'running' }],
    ports: [{
        id: 'b.eth0', vm: 'b', port: 'eth0', bridge: 'br1', datapath: 'embedded', link: 'up', rx_packets: 1, tx_packets: 2, rx_bytes: 3, tx_bytes: 4, drops: 0, queues: [],
        impair: counters({ set: { rateBps: 10_000_000 }, dropped_limit: 17 }),
    }],
    links: [{
        id: 'br0--br1', datapath: 'embedded', link: 'down', admin: 'down',
        directions: [
            { from: 'br0', to: 'br1', packets: 130, bytes: 7800, drops: 0, impair: counters({ set: { delayUs: 20_000, lossPct: 50 }, delayed: 130, dropped_loss: 126 }) },
            { from: 'br1', to: 'br0', packets: 0, bytes: 0, drops: 0, impair: counters({ set: { delayUs: 20_000, lossPct: 50 } }) },
        ],
    }],
};

describe('status text', () => {
    it('shows each link direction and each impairment\'s counters, on the direction it acts on', () => {
        const lines = formatStatus(status).split('\n');
        const row = (...cells: string[]) => lines.find((l) => cells.every((c) => l.includes(c)));
        expect(row('LINK', 'DIRECTION', 'PACKETS')).toBeDefined();
        expect(row('br0--br1', 'br0 → br1', 'down (vtopo link)', '130', '7800')).toBeDefined();
        expect(row('br1 → br0', '0')).toBeDefined();
        expect(row('IMPAIRED', 'DELAYED', 'LOST', 'OVER_LIMIT')).toBeDefined();
        expect(row('b.eth0', '→ b', 'rate 10mbit', '17')).toBeDefined();
        expect(row('br0--br1', 'br0 → br1', 'delay 20ms loss 50%', '130', '126')).toBeDefined();
        expect(lines.filter((l) => l.includes('delay 20ms loss 50%'))).toHaveLength(2);
    });

    it('has no link or impairment table when there is nothing to show', () => {
        const text = formatStatus({ ...status, links: undefined, ports: status.ports.map((p) => ({ ...p, impair: undefined })) });
        expect(text).not.toContain('IMPAIRED');
        expect(text).not.toContain('DIRECTION');
    });
});
