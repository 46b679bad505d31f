/**
 * Live hover text for a VM or port while its topology is deployed: state,
 * counters and one row per queue. Pure: (what is hovered, Status) → markdown.
 */
import type { PortStatus, Status } from '../../src/core/status.js';

export type HoverTarget = { kind: 'vm'; vm: string } | { kind: 'port'; id: string } | { kind: 'nic'; name: string };

function n(x: number | undefined): string {
    return (x ?? 0).toLocaleString('en-US');
}

function portTable(p: PortStatus): string[] {
    const lines = [
        `**${p.id}** · link **${p.link}**${p.vhost ? ` · vhost ${p.vhost}` : ''} · ${p.datapath}`,
        '',
        `rx ${n(p.rx_packets)} pkts / ${n(p.rx_bytes)} B · tx ${n(p.tx_packets)} pkts / ${n(p.tx_bytes)} B · drops ${n(p.drops)}`,
    ];
    if (p.error) lines.push('', `error: ${p.error}`);
    if (p.drops_by_reason) {
        const r = Object.entries(p.drops_by_reason).filter(([, v]) => v > 0);
        if (r.length) lines.push('', `drops by reason: ${r.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
    }
    if (p.queues.length) {
        lines.push('', '| queue | core | enabled | polled | usage | rx pkts | tx pkts | drops | kicks | calls | mode |', '|---:|---:|:--|:--|---:|---:|---:|---:|---:|---:|:--|');
        const yn = (b: boolean | undefined, no = 'no') => (b === undefined ? '-' : b ? 'yes' : no);
        for (const q of p.queues) {
            const core = q.core === undefined ? '-' : `${q.core}${q.planned_core !== undefined && q.planned_core !== q.core ? ` (planned ${q.planned_core})` : ''}`;
            lines.push(`| ${q.queue} | ${core} | ${yn(q.enabled)} | ${yn(q.polled, '**NO**')} | ${q.usage_pct === undefined ? '-' : `${q.usage_pct}%`} | ${n(q.rx_packets)} | ${n(q.tx_packets)} | ${n(q.drops)} | ${n(q.kicks)} | ${n(q.calls)} | ${q.mode} |`);
        }
    }
    return lines;
}

/** Markdown appended to the static hover, or undefined when nothing live is known. */
export function liveHover(target: HoverTarget, status: Status | undefined): string | undefined {
    if (!status?.deployed) return undefined;
    const head = `---\n\n**live** (${status.at})\n\n`;
    if (target.kind === 'vm') {
        const v = status.vms.find((x) => x.name === target.vm);
        if (!v) return undefined;
        const lines = [`**vm ${v.name}**: ${v.state}${v.accel ? ` (${v.accel})` : ''}${v.pid ? ` · pid ${v.pid}` : ''}${v.reason ? ` · ${v.reason}` : ''}`];
        for (const p of status.ports.filter((x) => x.vm === target.vm)) lines.push('', ...portTable(p));
        return head + lines.join('\n');
    }
    const id = target.kind === 'port' ? target.id : target.name;
    const p = status.ports.find((x) => x.id === id);
    return p ? head + portTable(p).join('\n') : undefined;
}
