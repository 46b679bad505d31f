/**
 * Runtime facts as diagnostics on the element that declared them. Pure:
 * (static model, current Status, previous Status) → Diagnostic[]. A fact
 * that no longer holds in the current Status produces nothing, which is how
 * a diagnostic clears.
 */
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver-types';
import type { FabricStatus, PortStatus, QueueStatus, Status } from '../../src/core/status.js';
import type { VerifyResult } from '../../src/core/api.js';
import type { Range, TopologyModel } from '../../src/core/lsp-protocol.js';

export const LIVE_SOURCE = 'vtopo-live';

export type LiveCode = 'expectation-failed' | 'guest-exited' | 'link-down' | 'vhost-not-connected' | 'vhost-failed' | 'queue-drops' | 'ovs-interface-error' | 'port-error' | 'datapath-down'
    | 'queue-not-polled' | 'queue-not-enabled' | 'queue-core-moved' | 'ovs-warning' | 'hugepages-over-share'
    | 'host-unreachable' | 'chassis-down' | 'tunnel-down' | 'port-not-bound';

function diag(range: Range, severity: DiagnosticSeverity, code: LiveCode, message: string): Diagnostic {
    return { range, severity, code, source: LIVE_SOURCE, message };
}

function queueGrowth(cur: PortStatus, prev: PortStatus | undefined): { queue: number; added: number; total: number }[] {
    if (!prev) return [];
    const before = new Map<number, QueueStatus>(prev.queues.map((q) => [q.queue, q]));
    const out: { queue: number; added: number; total: number }[] = [];
    for (const q of cur.queues) {
        const p = before.get(q.queue);
        if (p && q.drops > p.drops) out.push({ queue: q.queue, added: q.drops - p.drops, total: q.drops });
    }
    // Ports that report no per-queue numbers still count drops as a whole.
    if (!cur.queues.length && cur.drops > prev.drops) out.push({ queue: -1, added: cur.drops - prev.drops, total: cur.drops });
    return out;
}

function portDiagnostics(range: Range, label: string, p: PortStatus, prev: PortStatus | undefined, guestRunning: boolean): Diagnostic[] {
    const out: Diagnostic[] = [];
    if (p.error) {
        out.push(p.datapath === 'ovs'
            ? diag(range, DiagnosticSeverity.Error, 'ovs-interface-error', `OvS Interface ${label}: ${p.error}`)
            : diag(range, DiagnosticSeverity.Error, p.vhost === 'failed' ? 'vhost-failed' : 'port-error', `port ${label}: ${p.error}`));
    } else if (p.vhost === 'failed') {
        out.push(diag(range, DiagnosticSeverity.Error, 'vhost-failed', `port ${label}: the vhost-user device failed`));
    }
    const vhostPending = p.vhost !== undefined && p.vhost !== 'connected' && p.vhost !== 'failed';
    if (vhostPending && guestRunning) {
        const what = p.vhost === 'disconnected' ? 'lost its connection' : 'never connected';
        out.push(diag(range, DiagnosticSeverity.Warning, 'vhost-not-connected', `port ${label}: the vhost-user socket ${what} (${p.vhost}) although the guest is running`));
    } else if (p.link === 'down' && guestRunning && !p.error && p.vhost !== 'failed') {
        out.push(diag(range, DiagnosticSeverity.Warning, 'link-down', `port ${label}: link is down`));
    }
    out.push(...queuePlacement(range, label, p, guestRunning));
    for (const g of queueGrowth(p, prev)) {
        const where = g.queue >= 0 ? `queue ${g.queue} of ${label}` : label;
        const reasons = p.drops_by_reason ? Object.entries(p.drops_by_reason).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ') : '';
        out.push(diag(range, DiagnosticSeverity.Warning, 'queue-drops', `${where} is dropping packets: +${g.added} since the last sample (${g.total} in total${reasons ? `; ${reasons}` : ''})`));
    }
    return out;
}

/** Facts of the PMD/queue picture: only while the port is up (a down port polls nothing anyway). */
function queuePlacement(range: Range, label: string, p: PortStatus, guestRunning: boolean): Diagnostic[] {
    if (p.link !== 'up') return [];
    const out: Diagnostic[] = [];
    for (const q of p.queues) {
        if (q.polled === false) {
            out.push(diag(range, DiagnosticSeverity.Error, 'queue-not-polled', p.datapath === 'ovs'
                ? `queue ${q.queue} of ${label} is not polled by any OvS PMD thread: what arrives on it is never received (an isolated PMD? see \`ovs-appctl dpif-netdev/pmd-rxq-show\` and pmd-rxq-affinity on the OvS's other ports)`
                : `queue ${q.queue} of ${label} is not served by the datapath's poll loop`));
        } else if (q.enabled === false && guestRunning) {
            out.push(diag(range, DiagnosticSeverity.Information, 'queue-not-enabled',
                `queue ${q.queue} of ${label}: the guest has not enabled it (it uses ${p.queues.filter((x) => x.enabled).length} of ${p.queues.length} queues; give the VM as many cpus as queues, or run \`ethtool -L <if> combined ${p.queues.length}\` in the guest)`));
        }
        if (q.planned_core !== undefined && q.core !== undefined && q.planned_core !== q.core) {
            out.push(diag(range, DiagnosticSeverity.Warning, 'queue-core-moved',
                `queue ${q.queue} of ${label} is polled on core ${q.core}, not on core ${q.planned_core} as planned`));
        }
    }
    return out;
}

/** Live diagnostics for one topology; empty unless `status` says it is deployed. */
export function liveDiagnostics(model: TopologyModel, status: Status | undefined, prev?: Status): Diagnostic[] {
    if (!status || !status.deployed || status.topology !== model.name) return [];
    const out: Diagnostic[] = [];
    const prevPorts = new Map((prev?.deployed && prev.topology === model.name ? prev.ports : []).map((p) => [p.id, p]));
    const vmState = new Map(status.vms.map((v) => [v.name, v]));

    for (const dp of status.datapaths) {
        if (dp.running && !dp.error) continue;
        for (const b of model.bridges.filter((br) => br.datapath === dp.kind)) {
            out.push(diag(b.range, DiagnosticSeverity.Error, 'datapath-down',
                `the ${dp.kind} datapath serving bridge ${b.name} ${dp.running ? 'reports an error' : 'is not running'}${dp.error ? `: ${dp.error}` : ''}`));
        }
    }

    for (const vm of model.vms) {
        const v = vmState.get(vm.name);
        if (v && (v.state === 'crashed' || v.state === 'stopped')) {
            const why = v.reason?.trim() || (v.state === 'crashed' ? 'QEMU exited without a message' : 'QEMU is not running');
            out.push(diag(vm.range, DiagnosticSeverity.Error, 'guest-exited', `guest ${vm.name} exited: ${why}`));
            continue; // its ports are down because the guest is; one diagnostic says why
        }
        const running = v?.state === 'running';
        for (const port of vm.ports) {
            const p = status.ports.find((s) => s.id === port.id);
            if (p) out.push(...portDiagnostics(port.range, port.id, p, prevPorts.get(port.id), running));
            out.push(...datapathWarnings(status, port.id, port.range));
        }
    }

    for (const b of status.hugepages ?? []) {
        for (const u of b.users.filter((x) => x.used_pages > x.share_pages)) {
            const msg = `${u.kind === 'ovs' ? 'OvS\'s DPDK memory pools map' : `guest ${u.name} maps`} ${u.used_pages} hugepages of ${b.page_kb / 1024}M, over its share of ${u.share_pages}`;
            const ranges = u.kind === 'guest' ? model.vms.filter((v) => v.name === u.name).map((v) => v.range) : model.bridges.filter((br) => br.datapath === 'ovs').map((br) => br.range);
            for (const r of ranges) out.push(diag(r, DiagnosticSeverity.Warning, 'hugepages-over-share', msg));
        }
    }

    if (status.fabric) out.push(...fabricDiagnostics(model, status.fabric, vmState));

    for (const nic of model.nics) {
        const p = status.ports.find((s) => s.id === nic.name && !s.vm);
        if (p) out.push(...portDiagnostics(nic.range, `nic ${nic.name}`, p, prevPorts.get(p.id), true));
        out.push(...datapathWarnings(status, nic.name, nic.range));
    }
    return out;
}

/**
 * A topology across hosts: on each host's line whether it answers, whether its
 * chassis is up and its tunnels; on each VM port's line whether OVN bound its
 * logical port, and on the right chassis.
 */
function fabricDiagnostics(model: TopologyModel, f: FabricStatus, vmState: Map<string, Status['vms'][number]>): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const h of model.hosts) {
        const fh = f.hosts.find((x) => x.name === h.name);
        if (!fh) continue;
        if (fh.reachable === false) {
            out.push(diag(h.range, DiagnosticSeverity.Error, 'host-unreachable',
                `host ${h.name} does not answer over ssh${h.ssh ? ` (${h.ssh})` : ''}${fh.error ? `: ${fh.error}` : ''}; its part cannot be deployed or checked from here`));
        }
        if (fh.controller === 'stopped') {
            out.push(diag(h.range, DiagnosticSeverity.Error, 'chassis-down', `host ${h.name}: ovn-controller is not running, so chassis ${fh.chassis} installs no flows; the next deploy restarts it`));
        } else if (fh.chassis_registered === false) {
            out.push(diag(h.range, DiagnosticSeverity.Error, 'chassis-down', `host ${h.name}: chassis ${fh.chassis} is not registered in the Southbound database${fh.controller === 'remote' ? ' (that host\'s ovn-controller has not connected)' : ''}`));
        }
        for (const t of fh.tunnels.filter((x) => x.link !== 'up')) {
            out.push(diag(h.range, DiagnosticSeverity.Warning, 'tunnel-down', `host ${h.name}: the ${t.type} tunnel to ${t.peer ?? t.remote_ip} (${t.remote_ip}) is ${t.link}${t.bfd ? `, BFD ${t.bfd}` : ''}`));
        }
    }
    for (const vm of model.vms) {
        const st = vmState.get(vm.name)?.state;
        // A guest that is down has its own diagnostic; its ports are unbound because of it.
        if (st && st !== 'running') continue;
        for (const port of vm.ports) {
            const lp = f.ports.find((x) => x.name === port.id);
            if (!lp) continue;
            if (!lp.up) {
                out.push(diag(port.range, DiagnosticSeverity.Warning, 'port-not-bound',
                    `logical port ${port.id} is not up: ${lp.chassis ? `bound on chassis ${lp.chassis} but its flows are not installed yet` : `no chassis has bound it (is ovn-controller on host ${lp.host} running?)`}`));
            } else if (lp.on_planned_chassis === false) {
                out.push(diag(port.range, DiagnosticSeverity.Warning, 'port-not-bound', `logical port ${port.id} is bound on chassis ${lp.chassis ?? '?'}, not on host ${lp.host}'s`));
            }
        }
    }
    return out;
}

/** What the datapath itself says about a port (OvS log warnings of the last minute), on its line. */
function datapathWarnings(status: Status, id: string, range: Range): Diagnostic[] {
    const seen = new Set<string>();
    const out: Diagnostic[] = [];
    for (const w of status.datapath_warnings ?? []) {
        if (w.port !== id || seen.has(w.message)) continue;
        seen.add(w.message);
        out.push(diag(range, DiagnosticSeverity.Warning, 'ovs-warning', `${id}: ${w.message}`));
    }
    return out;
}

/** Each failed `expect` of a Verify, on its line, with what was measured. */
export function expectationDiagnostics(r: VerifyResult): Diagnostic[] {
    return (r.expectations ?? []).filter((e) => !e.ok).map((e) => diag(
        { start: { line: e.line - 1, character: 0 }, end: { line: e.line - 1, character: 1000 } },
        DiagnosticSeverity.Error, 'expectation-failed',
        `${e.text} does not hold: measured ${e.measured}${e.error ? ` (${e.error})` : ''}; see \`vtopo verify\``,
    ));
}
