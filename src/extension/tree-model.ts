/**
 * The "vtopo" tree as plain data: topologies → bridges → ports, routers →
 * their switch ports, and VMs → ports, the VMs grouped under their host
 * when the file names hosts; with live state icons and counters from
 * Status. Pure, so it is unit-tested without VS Code; tree.ts only maps it
 * onto TreeItems.
 */
import type { FabricHostStatus, PortStatus, Status, VmStatus } from '../core/status.js';
import type { ModelHost, Range, TopologyView } from '../core/lsp-protocol.js';
import { formatImpairment } from '../core/impair.js';

export type NodeKind = 'topology' | 'bridge' | 'vm' | 'port' | 'nic' | 'link' | 'host' | 'router' | 'router-port';

export interface TreeNode {
    /** Stable across refreshes so VS Code keeps expansion state. */
    id: string;
    kind: NodeKind;
    label: string;
    description: string;
    tooltip: string;
    /** A codicon id and an optional theme color id. */
    icon: { id: string; color?: string };
    uri: string;
    range: Range;
    /** What the commands act on: the topology's file, and the vm/port name. */
    file: string;
    vm?: string;
    port?: string;
    /** The named host a VM (or a host node) is on: the commands say where they act. */
    host?: string;
    children: TreeNode[];
}

const GREEN = 'testing.iconPassed';
const RED = 'testing.iconFailed';
const YELLOW = 'list.warningForeground';

export function count(n: number): string {
    if (n < 10_000) return String(n);
    if (n < 10_000_000) return `${Math.round(n / 1000)}k`;
    return `${Math.round(n / 1_000_000)}M`;
}

export function vmIcon(v: VmStatus | undefined): { id: string; color?: string } {
    switch (v?.state) {
        case 'running': return { id: 'vm-running', color: GREEN };
        case 'booting': return { id: 'loading~spin', color: YELLOW };
        case 'crashed': return { id: 'error', color: RED };
        case 'stopped': return { id: 'vm-outline', color: RED };
        default: return { id: 'vm-outline' };
    }
}

export function portIcon(p: PortStatus | undefined): { id: string; color?: string } {
    if (!p) return { id: 'plug' };
    if (p.error || p.vhost === 'failed') return { id: 'error', color: RED };
    return p.link === 'up' ? { id: 'plug', color: GREEN } : { id: 'debug-disconnect', color: RED };
}

function portDescription(p: PortStatus | undefined, fallback: string): string {
    if (!p) return fallback;
    return `${p.link}${p.vhost && p.vhost !== 'connected' ? ` (${p.vhost})` : ''} · rx ${count(p.rx_packets)} tx ${count(p.tx_packets)} drop ${count(p.drops)}`;
}

function portTooltip(p: PortStatus | undefined, id: string): string {
    if (!p) return id;
    const q = p.queues.map((x) => `  q${x.queue}: rx ${x.rx_packets} tx ${x.tx_packets} drops ${x.drops} (${x.mode})`).join('\n');
    return `${id}: link ${p.link}${p.vhost ? `, vhost ${p.vhost}` : ''}${p.error ? `\n${p.error}` : ''}\nrx ${p.rx_packets} pkts ${p.rx_bytes} B, tx ${p.tx_packets} pkts ${p.tx_bytes} B, drops ${p.drops}${q ? `\n${q}` : ''}`;
}

export function topologySummary(status: Status | undefined): string {
    if (!status) return 'unknown';
    if (!status.deployed) return 'not deployed';
    const running = status.vms.filter((v) => v.state === 'running').length;
    const bad = status.vms.filter((v) => v.state === 'crashed' || v.state === 'stopped').length;
    return `deployed · ${running}/${status.vms.length} VMs running${bad ? ` · ${bad} exited` : ''}`;
}

/** A fabric host's live state: its ovn-controller (or, for another machine, its SB registration), ssh reachability, tunnels. */
export function hostHealth(h: FabricHostStatus | undefined): { ok: boolean; text: string } {
    if (!h) return { ok: false, text: 'not in status' };
    const parts: string[] = [];
    let ok = true;
    if (h.reachable === false) { ok = false; parts.push('unreachable'); }
    if (h.controller === 'stopped') { ok = false; parts.push('ovn-controller stopped'); } else parts.push(h.controller === 'remote' ? 'remote' : 'ovn-controller up');
    if (h.chassis_registered === false) { ok = false; parts.push('chassis not registered'); }
    if (h.tunnels.length) {
        const up = h.tunnels.filter((t) => t.link === 'up').length;
        if (up < h.tunnels.length) ok = false;
        parts.push(`tunnels ${up}/${h.tunnels.length} up`);
    }
    if (h.error) { ok = false; parts.push(h.error); }
    return { ok, text: parts.join(' · ') };
}

function hostLabel(h: ModelHost): string {
    return h.kind === 'ssh' ? `ssh ${h.ssh ?? ''}`.trim() : h.kind === 'netns' ? 'simulated (netns)' : 'this machine';
}

export function buildTree(views: TopologyView[]): TreeNode[] {
    return views.map(({ model, status }) => {
        const live = status?.deployed ? status : undefined;
        const ports = new Map((live?.ports ?? []).map((p) => [p.id, p]));
        const vms = new Map((live?.vms ?? []).map((v) => [v.name, v]));
        const links = new Map((live?.links ?? []).map((l) => [l.id, l]));
        const base = { uri: model.uri, file: model.file };
        const tid = `${model.uri}#${model.name}`;

        const vmPortNode = (pid: string, label: string, vm: string, port: string, range: Range, parent: string): TreeNode => {
            const p = ports.get(pid);
            return {
                ...base, id: `${parent}/${pid}`, kind: 'port', label, description: portDescription(p, live ? 'absent' : ''),
                tooltip: portTooltip(p, pid), icon: portIcon(live ? p : undefined), range, vm, port, children: [],
            };
        };

        const bridges: TreeNode[] = model.bridges.map((b) => {
            const id = `${tid}/bridge/${b.name}`;
            const children: TreeNode[] = [];
            for (const n of model.nics.filter((x) => x.bridge === b.name)) {
                const p = ports.get(n.name);
                children.push({
                    ...base, id: `${id}/nic/${n.name}`, kind: 'nic', label: `nic ${n.name}`, description: portDescription(p, n.driver ?? ''),
                    tooltip: portTooltip(p, n.name), icon: live ? portIcon(p) : { id: 'circuit-board' }, range: n.range, port: n.name, children: [],
                });
            }
            for (const vm of model.vms) {
                for (const p of vm.ports.filter((x) => x.bridge === b.name)) children.push(vmPortNode(p.id, p.id, vm.name, p.name, p.range, id));
            }
            for (const l of model.links.filter((x) => x.a === b.name || x.b === b.name)) {
                const other = l.a === b.name ? l.b : l.a;
                const ls = links.get(l.id);
                // Both directions, this bridge's outgoing one first: each has its own counters and impairment.
                const dirs = ls ? [...ls.directions].sort((x) => (x.from === b.name ? -1 : 1)) : [];
                const description = ls ? `${ls.admin ? 'down (vtopo link)' : ls.link} · ${dirs.map((d) => `${d.from === b.name ? 'out' : 'in'} ${count(d.packets)}${d.impair ? ` (lost ${count(d.impair.dropped_loss + d.impair.dropped_limit)})` : ''}`).join(' · ')}` : '';
                const tooltip = [`link ${l.a} ${l.b}`, ...dirs.map((d) => `${d.from} → ${d.to}: ${d.packets} pkts ${d.bytes} B, drops ${d.drops}${d.impair
                    ? `\n  impair ${formatImpairment(d.impair.set)}: delayed ${d.impair.delayed}, lost ${d.impair.dropped_loss}, over limit ${d.impair.dropped_limit}, duplicated ${d.impair.duplicated}, reordered ${d.impair.reordered}, held ${d.impair.backlog}` : ''}`)].join('\n');
                const icon = !ls ? { id: 'arrow-swap' } : { id: 'arrow-swap', color: ls.link === 'up' ? GREEN : RED };
                children.push({ ...base, id: `${id}/link/${l.id}`, kind: 'link', label: `link → ${other}`, description, tooltip, port: l.id, icon, range: l.range, children: [] });
            }
            const dp = live?.datapaths.find((d) => d.kind === b.datapath);
            return {
                ...base, id, kind: 'bridge', label: b.name, description: `${b.datapath}${dp ? (dp.running ? ' · running' : ' · down') : ''}`,
                tooltip: `bridge ${b.name} (${b.datapath} datapath)${dp?.error ? `\n${dp.error}` : ''}`,
                icon: dp ? (dp.running && !dp.error ? { id: 'type-hierarchy', color: GREEN } : { id: 'type-hierarchy', color: RED }) : { id: 'type-hierarchy' },
                range: b.range, children,
            };
        });

        const hostKind = new Map((model.hosts ?? []).map((h) => [h.name, h.kind]));
        const fabricPorts = new Map((live?.fabric?.ports ?? []).map((p) => [p.name, p]));
        const vmNode = (vm: TopologyView['model']['vms'][number], parent: string): TreeNode => {
            const v = vms.get(vm.name);
            const id = `${parent}/vm/${vm.name}`;
            // Another machine runs it: this one sees only its logical ports' bindings.
            const elsewhere = live && !v && vm.host && hostKind.get(vm.host) === 'ssh';
            const bound = vm.ports.every((p) => fabricPorts.get(p.id)?.up);
            const desc = elsewhere ? `on ${vm.host}${bound ? ' · ports bound' : ' · ports not bound'}`
                : live ? (v ? `${v.state}${v.accel ? ` (${v.accel})` : ''}` : 'absent') : `${vm.cpus} vCPU`;
            return {
                ...base, id, kind: 'vm', label: vm.name, description: desc,
                tooltip: `vm ${vm.name}${vm.host ? ` on host ${vm.host}` : ''}${v ? `: ${v.state}${v.pid ? `, pid ${v.pid}` : ''}${v.reason ? `\n${v.reason}` : ''}` : ''}`,
                icon: elsewhere ? { id: 'vm-running', color: bound ? GREEN : RED } : live ? vmIcon(v) : { id: 'vm-outline' }, range: vm.range, vm: vm.name,
                ...(vm.host ? { host: vm.host } : {}),
                children: vm.ports.map((p) => vmPortNode(p.id, p.name, vm.name, p.name, p.range, id)),
            };
        };

        const routers: TreeNode[] = (model.routers ?? []).map((r) => {
            const id = `${tid}/router/${r.name}`;
            return {
                ...base, id, kind: 'router', label: r.name, description: `router · ${r.ports.length} port${r.ports.length === 1 ? '' : 's'}`,
                tooltip: `OVN logical router ${r.name}\n${r.ports.map((p) => `${p.bridge}: ${p.network}`).join('\n')}`,
                icon: { id: 'git-merge' }, range: r.range,
                children: r.ports.map((p) => ({
                    ...base, id: `${id}/port/${p.bridge}`, kind: 'router-port' as const, label: `${p.bridge} ${p.network}`, description: '',
                    tooltip: `router ${r.name} on bridge ${p.bridge}: ${p.network}`, icon: { id: 'symbol-interface' }, range: r.range, children: [],
                })),
            };
        });

        // Named hosts group their VMs; a VM on no (or an unknown) host stays at the top.
        const fabricHosts = new Map((live?.fabric?.hosts ?? []).map((h) => [h.name, h]));
        const hosts: TreeNode[] = (model.hosts ?? []).map((h) => {
            const id = `${tid}/host/${h.name}`;
            const health = live?.fabric ? hostHealth(fabricHosts.get(h.name)) : undefined;
            return {
                ...base, id, kind: 'host', label: h.name, description: `${hostLabel(h)}${health ? ` · ${health.text}` : ''}`,
                tooltip: `host ${h.name}: ${hostLabel(h)}${h.underlay ? `, underlay ${h.underlay}` : ''}${health ? `\n${health.text}` : ''}`,
                icon: { id: h.kind === 'ssh' ? 'remote' : 'server', ...(health ? { color: health.ok ? GREEN : RED } : {}) },
                range: h.range, host: h.name,
                children: model.vms.filter((vm) => vm.host === h.name).map((vm) => vmNode(vm, id)),
            };
        });
        const grouped = new Set(hosts.length ? (model.hosts ?? []).map((h) => h.name) : []);
        const vmNodes: TreeNode[] = [...hosts, ...model.vms.filter((vm) => !vm.host || !grouped.has(vm.host)).map((vm) => vmNode(vm, tid))];

        return {
            ...base, id: tid, kind: 'topology', label: model.name, description: topologySummary(status),
            tooltip: `${model.file}\n${topologySummary(status)}${status?.at ? `\nas of ${status.at}` : ''}`,
            icon: live ? { id: 'circle-filled', color: vmNodes.some(function red(n: TreeNode): boolean { return n.icon.color === RED || (n.kind === 'host' && n.children.some(red)); }) ? RED : GREEN } : { id: 'circle-outline' },
            range: model.range, children: [...bridges, ...routers, ...vmNodes],
        };
    });
}
