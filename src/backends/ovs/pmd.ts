/**
 * The PMD picture OvS-DPDK users read every day: `dpif-netdev/pmd-rxq-show`
 * (which PMD polls which rx queue, enabled or not, its usage) and
 * `dpif-netdev/pmd-perf-show` (how busy each PMD is). OvS 3.1 offers no
 * JSON for either: these parse the text (fixtures in test/ovs/fixtures are
 * real captures), and `applyPmdPicture` folds it into our ports' status.
 */
import type { PollerStatus, PortStatus, QueueStatus } from '../../core/status.js';

export interface RxqEntry {
    port: string;
    queue: number;
    enabled: boolean;
    /** undefined while OvS says NOT AVAIL (less than one measuring interval). */
    usagePct?: number;
}

export interface PmdRxq {
    numa: number;
    core: number;
    isolated: boolean;
    overheadPct?: number;
    queues: RxqEntry[];
}

const PMD_HEAD = /^pmd thread numa_id (-?\d+) core_id (\d+):\s*$/;
const RXQ = /^\s*port:\s+(\S+)\s+queue-id:\s+(\d+)\s+\((enabled|disabled)\)\s+pmd usage:\s*(NOT AVAIL|(\d+(?:\.\d+)?)\s*%)/;

export function parsePmdRxqShow(text: string): PmdRxq[] {
    const out: PmdRxq[] = [];
    let cur: PmdRxq | undefined;
    for (const line of text.split('\n')) {
        const head = PMD_HEAD.exec(line);
        if (head) {
            cur = { numa: Number(head[1]), core: Number(head[2]), isolated: false, queues: [] };
            out.push(cur);
            continue;
        }
        if (!cur) continue;
        const iso = /^\s*isolated\s*:\s*(true|false)/.exec(line);
        if (iso) { cur.isolated = iso[1] === 'true'; continue; }
        const q = RXQ.exec(line);
        if (q) {
            cur.queues.push({ port: q[1], queue: Number(q[2]), enabled: q[3] === 'enabled', ...(q[5] !== undefined ? { usagePct: Number(q[5]) } : {}) });
            continue;
        }
        const over = /^\s*overhead:\s*(\d+(?:\.\d+)?)\s*%/.exec(line);
        if (over) cur.overheadPct = Number(over[1]);
    }
    return out;
}

export interface PmdPerf {
    core: number;
    numa: number;
    iterations: number;
    /** % of total TSC cycles the PMD used (the rest it slept: pmd-maxsleep). */
    usedPct: number;
    /** % of used cycles in busy iterations. */
    busyPct: number;
    rxPackets: number;
    txPackets: number;
    durationS?: number;
}

export function parsePmdPerfShow(text: string): PmdPerf[] {
    const out: PmdPerf[] = [];
    let duration: number | undefined;
    let cur: PmdPerf | undefined;
    const num = (re: RegExp, line: string) => { const m = re.exec(line); return m ? Number(m[1]) : undefined; };
    for (const line of text.split('\n')) {
        const d = num(/^Measurement duration:\s*([\d.]+)\s*s/, line);
        if (d !== undefined) { duration = d; continue; }
        const head = PMD_HEAD.exec(line);
        if (head) {
            cur = { numa: Number(head[1]), core: Number(head[2]), iterations: 0, usedPct: 0, busyPct: 0, rxPackets: 0, txPackets: 0, ...(duration !== undefined ? { durationS: duration } : {}) };
            out.push(cur);
            continue;
        }
        if (!cur) continue;
        const it = num(/^\s*Iterations:\s*(\d+)/, line);
        if (it !== undefined) cur.iterations = it;
        const used = num(/Used TSC cycles:\s*\d+\s*\(\s*([\d.]+)\s*% of total/, line);
        if (used !== undefined) cur.usedPct = used;
        const busy = num(/busy iterations:\s*\d+\s*\(\s*([\d.]+)\s*% of used/, line);
        if (busy !== undefined) cur.busyPct = busy;
        const rx = num(/^\s*Rx packets:\s*(\d+)/, line);
        if (rx !== undefined) cur.rxPackets = rx;
        const tx = num(/^\s*Tx packets:\s*(\d+)/, line);
        if (tx !== undefined) cur.txPackets = tx;
    }
    return out;
}

export function pollersOf(rxq: PmdRxq[], perf: PmdPerf[]): PollerStatus[] {
    return rxq.map((p) => {
        const f = perf.find((x) => x.core === p.core && x.numa === p.numa);
        return {
            datapath: 'ovs' as const, core: p.core, numa: p.numa, isolated: p.isolated,
            ...(f ? { busy_pct: f.busyPct, used_pct: f.usedPct, rx_packets: f.rxPackets } : {}),
            queues: p.queues.map((q) => `${q.port}:${q.queue}`),
        };
    });
}

const emptyQueue = (n: number): QueueStatus => ({
    queue: n, rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, kicks: 0, calls: 0, mode: 'poll', mode_switches: 0,
});

/**
 * Sets core/enabled/polled/usage on each queue of `ports` (by OvS
 * Interface name: `ifName(port)`). A port's queue count is the most of:
 * the queues OvS counts statistics for, lists in pmd-rxq-show, and
 * `expectedQueues(port)` (vrings/2 for a connected vhost port, n_rxq for a
 * NIC); a queue no PMD lists is `polled: false`. `plannedCores` gives the
 * core the plan pinned each queue to (only where it pinned).
 */
export function applyPmdPicture(
    ports: PortStatus[], rxq: PmdRxq[], ifName: (p: PortStatus) => string,
    expectedQueues: (p: PortStatus) => number, plannedCores: (p: PortStatus) => number[] | undefined,
): void {
    const where = new Map<string, { pmd: PmdRxq; q: RxqEntry }>();
    for (const pmd of rxq) for (const q of pmd.queues) where.set(`${q.port}:${q.queue}`, { pmd, q });
    for (const port of ports) {
        const name = ifName(port);
        const listed = rxq.flatMap((p) => p.queues.filter((q) => q.port === name).map((q) => q.queue));
        const n = Math.max(port.queues.length ? Math.max(...port.queues.map((q) => q.queue)) + 1 : 0, listed.length ? Math.max(...listed) + 1 : 0, expectedQueues(port));
        for (let i = 0; i < n; i++) if (!port.queues.some((q) => q.queue === i)) port.queues.push(emptyQueue(i));
        port.queues.sort((a, b) => a.queue - b.queue);
        const planned = plannedCores(port);
        for (const q of port.queues) {
            const w = where.get(`${name}:${q.queue}`);
            q.polled = !!w;
            if (w) {
                q.core = w.pmd.core;
                q.enabled = w.q.enabled;
                if (w.q.usagePct !== undefined) q.usage_pct = w.q.usagePct;
            }
            if (planned?.[q.queue] !== undefined) q.planned_core = planned[q.queue];
        }
    }
}

/**
 * OvS's warnings about our ports: WARN/ERR lines of its log logged at or
 * after `sinceMs` (a log line is an event; only recent ones stand for a
 * present fact) that name one of our interfaces (`names`: interface name →
 * port id) in quotes, or one of our vhost sockets (`sockets`: path → id).
 */
export function portWarnings(logLines: string[], names: Map<string, string>, sockets: Map<string, string>, sinceMs: number): { port: string; message: string }[] {
    const out: { port: string; message: string }[] = [];
    for (const line of logLines) {
        const m = /^(\S+)\|\d+\|(\w+)\|(WARN|ERR|EMER)\|(.*)$/.exec(line);
        if (!m) continue;
        const at = Date.parse(m[1]);
        if (!(at >= sinceMs)) continue;
        const text = m[4];
        let port: string | undefined;
        for (const [ifName, id] of names) if (text.includes(`'${ifName}'`)) port = id;
        for (const [sock, id] of sockets) if (text.includes(`(${sock})`) || text.includes(` ${sock}`)) port = id;
        if (port) out.push({ port, message: `OvS ${m[3]} (${m[2]}): ${text.trim()}` });
    }
    return out;
}
