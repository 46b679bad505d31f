/** Human renderings of Status, verify results and errors for the CLI. */
import type { ProgressEvent, VerifyResult } from '../core/api.js';
import { fsFailure } from '../host/fs-errors.js';
import { VtopoError } from '../core/api.js';
import type { ImpairStatus, Status } from '../core/status.js';
import { formatImpairment } from '../core/impair.js';
import type { Rate, Rates } from './rates.js';

function table(header: string[], rows: string[][]): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
    return [line(header), ...rows.map(line)].join('\n');
}

function dur(s: number | undefined): string {
    if (s === undefined) return '-';
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

const pct = (n: number | undefined) => (n === undefined ? '-' : `${n}%`);
const fixed = (n: number | undefined, digits = 1) => (n === undefined ? '-' : n.toFixed(digits));

/** The status tables; with `rates` (from computeRates), per-second columns per port and queue. */
export function formatStatus(s: Status, rates?: Rates): string {
    const out: string[] = [];
    out.push(`topology ${s.topology}  (${s.file})  ${s.deployed ? 'deployed' : 'not deployed'}  at ${s.at}`);
    if (!s.deployed) return out.join('\n') + '\n';
    out.push('');
    out.push(table(['DATAPATH', 'RUNNING', 'PID', 'MODE', 'UPTIME', 'ERROR'], s.datapaths.map((d) => [
        d.kind, d.running ? 'yes' : 'no', d.pid ? String(d.pid) : '-', d.mode ?? '-', dur(d.uptime_s), d.error ?? '',
    ])));
    out.push('');
    out.push(table(['VM', 'STATE', 'ACCEL', 'PID', 'AGENT', 'REASON'], s.vms.map((v) => [
        v.name, v.state, v.accel ?? '-', v.pid ? String(v.pid) : '-', v.agent ?? '-', v.reason ?? '',
    ])));
    if (s.ports.length) {
        out.push('');
        const rateCells = (r: Rate | undefined) => (rates ? [fixed(r?.rx_pps, 0), fixed(r?.tx_pps, 0), fixed(r?.rx_mbps, 2), fixed(r?.tx_mbps, 2), fixed(r?.drops_ps, 0)] : []);
        const rows: string[][] = [];
        for (const p of s.ports) {
            const pr = rates?.ports[p.id];
            rows.push([p.id, p.bridge, p.admin ? 'down (vtopo link)' : p.link, p.vhost ?? '-', String(p.rx_packets), String(p.tx_packets),
                String(p.rx_bytes), String(p.tx_bytes), String(p.drops), ...rateCells(pr), p.error ?? '']);
            if (p.queues.length > 1) {
                for (const q of p.queues) {
                    rows.push([`  q${q.queue}`, '', '', q.mode, String(q.rx_packets), String(q.tx_packets),
                        String(q.rx_bytes), String(q.tx_bytes), String(q.drops), ...rateCells(pr?.queues[q.queue]), '']);
                }
            }
        }
        const rateHeads = rates ? ['RX_PPS', 'TX_PPS', 'RX_MBIT/S', 'TX_MBIT/S', 'DROPS/S'] : [];
        out.push(table(['PORT', 'BRIDGE', 'LINK', 'VHOST', 'RX_PKTS', 'TX_PKTS', 'RX_BYTES', 'TX_BYTES', 'DROPS', ...rateHeads, 'ERROR'], rows));
    }
    if (s.links?.length) {
        out.push('');
        out.push(table(['LINK', 'DIRECTION', 'STATE', 'PACKETS', 'BYTES', 'DROPS'], s.links.flatMap((l) => l.directions.map((d, i) => [
            i === 0 ? l.id : '', `${d.from} → ${d.to}`, i === 0 ? (l.admin ? 'down (vtopo link)' : l.link) : '', String(d.packets), String(d.bytes), String(d.drops),
        ]))));
    }
    // What each impairment did, per direction: a port's acts towards its guest, a link's both ways.
    const impairRows: [string, string, ImpairStatus][] = [
        ...s.ports.filter((p) => p.impair).map((p): [string, string, ImpairStatus] => [p.id, `→ ${p.vm ?? p.id}`, p.impair!]),
        ...(s.links ?? []).flatMap((l) => l.directions.filter((d) => d.impair).map((d): [string, string, ImpairStatus] => [l.id, `${d.from} → ${d.to}`, d.impair!])),
    ];
    if (impairRows.length) {
        out.push('');
        out.push(table(['IMPAIRED', 'DIRECTION', 'SET', 'DELAYED', 'LOST', 'OVER_LIMIT', 'DUPLICATED', 'REORDERED', 'BACKLOG'], impairRows.map(([id, dir, x]) => [
            id, dir, formatImpairment(x.set), String(x.delayed), String(x.dropped_loss), String(x.dropped_limit), String(x.duplicated), String(x.reordered), String(x.backlog),
        ])));
    }
    const queueRows = s.ports.flatMap((p) => p.queues.filter((q) => q.core !== undefined || q.polled !== undefined || q.enabled !== undefined).map((q) => [
        p.id, String(q.queue), q.core === undefined ? '-' : String(q.core), q.planned_core === undefined ? '-' : String(q.planned_core),
        q.enabled === undefined ? '-' : q.enabled ? 'yes' : 'no', q.mode, q.polled === undefined ? '-' : q.polled ? 'yes' : 'NO', pct(q.usage_pct),
    ]));
    if (queueRows.length) {
        out.push('');
        out.push(table(['QUEUE OF', 'Q', 'CORE', 'PLANNED', 'ENABLED', 'MODE', 'POLLED', 'USAGE'], queueRows));
    }
    if (s.pollers?.length) {
        out.push('');
        out.push(table(['POLLER', 'CORE', 'NUMA', 'ISOLATED', 'BUSY', 'USED', 'QUEUES'], s.pollers.map((p) => [
            p.datapath === 'ovs' ? 'ovs pmd' : 'embedded loop', String(p.core), p.numa === undefined ? '-' : String(p.numa),
            p.isolated === undefined ? '-' : p.isolated ? 'yes' : 'no', pct(p.busy_pct), pct(p.used_pct), p.queues.join(' ') || '(none)',
        ])));
    }
    for (const b of s.hugepages ?? []) {
        out.push('');
        out.push(`hugepages ${b.page_kb / 1024}M: host ${b.host_total} total, ${b.host_free} free; reserved by vtopo for this topology ${b.reserved}`);
        out.push(table(['HUGEPAGES USER', 'KIND', 'USED', 'SHARE'], b.users.map((u) => [
            u.name, u.kind, String(u.used_pages), `${u.share_pages}${u.used_pages > u.share_pages ? ' (OVER)' : ''}`,
        ])));
    }
    if (s.fabric) out.push('', ...formatFabric(s.fabric));
    for (const w of s.datapath_warnings ?? []) out.push(`warning: ${w.datapath}${w.port ? ` ${w.port}` : ''}: ${w.message}`);
    return out.join('\n') + '\n';
}

/** The multi-host part: the OVN central, each host's chassis, ovn-controller and tunnels, each logical port's binding. */
function formatFabric(f: NonNullable<Status['fabric']>): string[] {
    const yn = (b: boolean | undefined) => (b === undefined ? '-' : b ? 'yes' : 'NO');
    const c = f.central;
    const out = c.host ? [`ovn central (${c.kind}, on host ${c.host}): sb ${yn(c.sb)} (reached over the underlay)`, ''] : [`ovn central (${c.kind}): nb ${yn(c.nb)}${c.sb === undefined ? '' : `, sb ${yn(c.sb)}`}${c.northd === undefined ? '' : `, northd ${yn(c.northd)}`}`, ''];
    out.push(table(['HOST', 'CHASSIS', 'REGISTERED', 'CONTROLLER', 'PID', 'OVS', 'TUNNELS', 'ERROR'], f.hosts.map((h) => [
        h.name, h.chassis, yn(h.chassis_registered), h.controller === 'remote' ? `remote${h.reachable === undefined ? '' : h.reachable ? ' (ssh ok)' : ' (ssh DOWN)'}` : h.controller,
        h.controller_pid ? String(h.controller_pid) : '-', h.controller === 'remote' ? '-' : yn(h.ovs),
        h.controller === 'remote' ? '(that host\'s own)' : [...h.tunnels].sort((a, b) => (a.peer ?? a.remote_ip).localeCompare(b.peer ?? b.remote_ip)).map((t) => `${t.peer ?? t.remote_ip} ${t.type} ${t.link}${t.bfd ? ` bfd ${t.bfd}` : ''}`).join(', ') || '(none)', h.error ?? '',
    ])));
    if (f.ports.length) {
        out.push('');
        out.push(table(['LOGICAL PORT', 'SWITCH', 'HOST', 'UP', 'BOUND ON', 'ON ITS HOST'], f.ports.map((p) => [
            p.name, p.switch, p.host, p.up ? 'yes' : 'NO', p.chassis ?? '-', yn(p.on_planned_chassis),
        ])));
    }
    return out;
}

/**
 * One `status --watch` frame: on a terminal it homes the cursor and clears
 * the screen first (so the tables refresh in place, like watch(1)); piped,
 * frames follow one another, separated by a blank line.
 */
export function watchFrame(body: string, intervalS: number, tty: boolean): string {
    const head = `every ${intervalS}s · Ctrl-C to stop\n`;
    return tty ? `\x1b[H\x1b[2J${head}${body}` : `${head}${body}\n`;
}

/** Reachability matrix: rows are sources, columns destinations. */
export function formatVerify(r: VerifyResult): string {
    return formatPairs(r) + formatExpectations(r);
}

/** True when every pair reaches and every expectation holds: verify's exit 0. */
export function verifyPassed(r: VerifyResult): boolean {
    return r.pairs.every((p) => p.ok) && (r.expectations ?? []).every((e) => e.ok);
}

function formatExpectations(r: VerifyResult): string {
    const es = r.expectations ?? [];
    if (es.length === 0) return '';
    const lines = ['', ...es.map((e) => `  line ${e.line}: ${e.text.padEnd(36)} ${e.measured.padEnd(22)} ${e.ok ? 'ok' : 'FAIL'}${e.error ? ` (${e.error})` : ''}`)];
    const failed = es.filter((e) => !e.ok).length;
    lines.push(failed ? `verify: ${failed} of ${es.length} expectations FAILED` : `verify: all ${es.length} expectations hold`);
    return lines.join('\n') + '\n';
}

function formatPairs(r: VerifyResult): string {
    if (r.pairs.length === 0) return 'verify: no guest pairs share an L2 segment (nothing to check)\n';
    const from = [...new Set(r.pairs.map((p) => p.from))];
    // Same order on both axes so the diagonal reads as "self".
    const to = [...new Set([...from, ...r.pairs.map((p) => p.to)])].filter((t) => r.pairs.some((p) => p.to === t));
    const cell = (f: string, t: string) => {
        const p = r.pairs.find((x) => x.from === f && x.to === t);
        if (!p) return '·';
        if (p.expect === 'isolated') return p.ok ? 'isolated' : 'LEAK';
        return p.ok ? `ok ${p.rtt_ms !== undefined ? p.rtt_ms.toFixed(1) + 'ms' : ''}`.trim() : 'FAIL';
    };
    const lines = [table(['from \\ to', ...to], from.map((f) => [f, ...to.map((t) => cell(f, t))]))];
    const failed = r.pairs.filter((p) => !p.ok);
    for (const p of failed) lines.push(`  ${p.from} → ${p.to}: ${p.error ?? 'no reply'}`);
    const iso = r.pairs.filter((p) => p.expect === 'isolated').length;
    const reach = r.pairs.length - iso;
    lines.push(failed.length === 0
        ? `verify: all ${reach} pairs reach each other${iso ? `; ${iso} pairs on different VLANs are isolated, as expected` : ''}`
        : `verify: ${failed.length} of ${r.pairs.length} pairs FAILED`);
    return lines.join('\n') + '\n';
}

export function formatProgress(e: ProgressEvent): string {
    const mark = e.phase === 'start' ? '…' : e.phase === 'done' ? '✓' : '·';
    return `${mark} [${e.step}] ${e.message}\n`;
}

/** Prints a user-facing error (cause + fix) and returns the exit code. */
export function reportError(err: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): number {
    err = fsFailure(err) ?? err;
    if (err instanceof VtopoError) {
        write(`vtopo: ${err.message}\n`);
        if (err.fix) write(`  fix: ${err.fix}\n`);
        return 1;
    }
    throw err;
}
