/** Plain-text renderings of Status and VerifyResult for editor documents. */
import type { VerifyResult } from '../core/api.js';
import type { Status } from '../core/status.js';

function pad(rows: string[][]): string {
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export function formatStatusText(s: Status): string {
    const out = [`topology ${s.topology} (${s.file}): ${s.deployed ? 'deployed' : 'not deployed'} · as of ${s.at}`, ''];
    if (!s.deployed) return out.join('\n');
    out.push('datapaths', pad([['kind', 'state', 'pid', 'uptime', 'error'], ...s.datapaths.map((d) => [d.kind, d.running ? 'running' : 'down', String(d.pid ?? ''), d.uptime_s !== undefined ? `${d.uptime_s}s` : '', d.error ?? ''])]), '');
    out.push('vms', pad([['name', 'state', 'accel', 'pid', 'reason'], ...s.vms.map((v) => [v.name, v.state, v.accel ?? '', String(v.pid ?? ''), v.reason ?? ''])]), '');
    out.push('ports', pad([['port', 'bridge', 'link', 'vhost', 'rx pkts', 'tx pkts', 'drops', 'error'],
        ...s.ports.map((p) => [p.id, p.bridge, p.link, p.vhost ?? '', String(p.rx_packets), String(p.tx_packets), String(p.drops), p.error ?? ''])]), '');
    const queues = s.ports.flatMap((p) => p.queues.map((q) => [p.id, String(q.queue), String(q.rx_packets), String(q.tx_packets), String(q.drops), String(q.kicks), String(q.calls), q.mode]));
    if (queues.length) out.push('queues', pad([['port', 'queue', 'rx pkts', 'tx pkts', 'drops', 'kicks', 'calls', 'mode'], ...queues]), '');
    return out.join('\n');
}

export function formatVerifyText(r: VerifyResult): string {
    if (!r.pairs.length) return 'verify: no pairs to test (ports need an ip)';
    return pad([['from', 'to', 'result', 'rtt', 'error'], ...r.pairs.map((p) => [p.from, p.to, p.expect === 'isolated' ? (p.ok ? 'isolated' : 'LEAK') : p.ok ? 'ok' : 'FAIL', p.rtt_ms !== undefined ? `${p.rtt_ms} ms` : '', p.error ?? ''])]);
}
