/** Human renderings of Status, verify results and errors for the CLI. */
import type { ProgressEvent, VerifyResult } from '../core/api.js';
import { fsFailure } from '../host/fs-errors.js';
import { VtopoError } from '../core/api.js';
import type { Status } from '../core/status.js';

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

export function formatStatus(s: Status): string {
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
        const rows: string[][] = [];
        for (const p of s.ports) {
            rows.push([p.id, p.bridge, p.link, p.vhost ?? '-', String(p.rx_packets), String(p.tx_packets),
                String(p.rx_bytes), String(p.tx_bytes), String(p.drops), p.error ?? '']);
            if (p.queues.length > 1) {
                for (const q of p.queues) {
                    rows.push([`  q${q.queue}`, '', '', q.mode, String(q.rx_packets), String(q.tx_packets),
                        String(q.rx_bytes), String(q.tx_bytes), String(q.drops), '']);
                }
            }
        }
        out.push(table(['PORT', 'BRIDGE', 'LINK', 'VHOST', 'RX_PKTS', 'TX_PKTS', 'RX_BYTES', 'TX_BYTES', 'DROPS', 'ERROR'], rows));
    }
    return out.join('\n') + '\n';
}

/** Reachability matrix: rows are sources, columns destinations. */
export function formatVerify(r: VerifyResult): string {
    if (r.pairs.length === 0) return 'verify: no guest pairs share an L2 segment (nothing to check)\n';
    const from = [...new Set(r.pairs.map((p) => p.from))];
    // Same order on both axes so the diagonal reads as "self".
    const to = [...new Set([...from, ...r.pairs.map((p) => p.to)])].filter((t) => r.pairs.some((p) => p.to === t));
    const cell = (f: string, t: string) => {
        const p = r.pairs.find((x) => x.from === f && x.to === t);
        if (!p) return '·';
        return p.ok ? `ok ${p.rtt_ms !== undefined ? p.rtt_ms.toFixed(1) + 'ms' : ''}`.trim() : 'FAIL';
    };
    const lines = [table(['from \\ to', ...to], from.map((f) => [f, ...to.map((t) => cell(f, t))]))];
    const failed = r.pairs.filter((p) => !p.ok);
    for (const p of failed) lines.push(`  ${p.from} → ${p.to}: ${p.error ?? 'no reply'}`);
    lines.push(failed.length === 0
        ? `verify: all ${r.pairs.length} pairs reach each other`
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
