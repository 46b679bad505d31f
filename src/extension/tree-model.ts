/**
 * The "vtopo" tree as plain data: topologies → bridges → ports and
 * VMs → ports, with live state icons and counters from Status. Pure, so it
 * is unit-tested without VS Code; tree.ts only maps it onto TreeItems.
 */
import type { PortStatus, Status, VmStatus } from '../core/status.js';
import type { Range, TopologyView } from '../core/lsp-protocol.js';

export type NodeKind = 'topology' | 'bridge' | 'vm' | 'port' | 'nic' | 'link';

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

export function buildTree(views: TopologyView[]): TreeNode[] {
    return views.map(({ model, status }) => {
        const live = status?.deployed ? status : undefined;
        const ports = new Map((live?.ports ?? []).map((p) => [p.id, p]));
        const vms = new Map((live?.vms ?? []).map((v) => [v.name, v]));
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
                children.push({ ...base, id: `${id}/link/${l.id}`, kind: 'link', label: `link → ${other}`, description: '', tooltip: `link ${l.a} ${l.b}`, port: l.id, icon: { id: 'arrow-swap' }, range: l.range, children: [] });
            }
            const dp = live?.datapaths.find((d) => d.kind === b.datapath);
            return {
                ...base, id, kind: 'bridge', label: b.name, description: `${b.datapath}${dp ? (dp.running ? ' · running' : ' · down') : ''}`,
                tooltip: `bridge ${b.name} (${b.datapath} datapath)${dp?.error ? `\n${dp.error}` : ''}`,
                icon: dp ? (dp.running && !dp.error ? { id: 'type-hierarchy', color: GREEN } : { id: 'type-hierarchy', color: RED }) : { id: 'type-hierarchy' },
                range: b.range, children,
            };
        });

        const vmNodes: TreeNode[] = model.vms.map((vm) => {
            const v = vms.get(vm.name);
            const id = `${tid}/vm/${vm.name}`;
            const desc = live ? (v ? `${v.state}${v.accel ? ` (${v.accel})` : ''}` : 'absent') : `${vm.cpus} vCPU`;
            return {
                ...base, id, kind: 'vm', label: vm.name, description: desc,
                tooltip: `vm ${vm.name}${v ? `: ${v.state}${v.pid ? `, pid ${v.pid}` : ''}${v.reason ? `\n${v.reason}` : ''}` : ''}`,
                icon: live ? vmIcon(v) : { id: 'vm-outline' }, range: vm.range, vm: vm.name,
                children: vm.ports.map((p) => vmPortNode(p.id, p.name, vm.name, p.name, p.range, id)),
            };
        });

        return {
            ...base, id: tid, kind: 'topology', label: model.name, description: topologySummary(status),
            tooltip: `${model.file}\n${topologySummary(status)}${status?.at ? `\nas of ${status.at}` : ''}`,
            icon: live ? { id: 'circle-filled', color: vmNodes.some((n) => n.icon.color === RED) ? RED : GREEN } : { id: 'circle-outline' },
            range: model.range, children: [...bridges, ...vmNodes],
        };
    });
}
