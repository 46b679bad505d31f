/** Actions: what reconcile decides and the executor performs. Plain data. */
import type { BridgePlan, DatapathKind, HostPlan, LinkPlan, NicPlan, VmPlan, VmPortPlan } from '../plan/types.js';
import type { PlannedAction } from './api.js';

export type Action =
    | { kind: 'reserve-hugepages'; hugepages: NonNullable<HostPlan['hugepages']>; reason: string }
    | { kind: 'release-hugepages'; reason: string }
    /** Same page size and mount, another count: nr_hugepages moves, the mount and the guests on it stay. */
    | { kind: 'resize-hugepages'; hugepages: NonNullable<HostPlan['hugepages']>; reason: string }
    | { kind: 'start-datapath'; datapath: DatapathKind; reason: string }
    | { kind: 'stop-datapath'; datapath: DatapathKind; reason: string }
    | { kind: 'add-bridge'; datapath: DatapathKind; bridge: BridgePlan; reason: string }
    | { kind: 'remove-bridge'; datapath: DatapathKind; name: string; reason: string }
    | { kind: 'add-link'; datapath: DatapathKind; link: LinkPlan; reason: string }
    | { kind: 'remove-link'; datapath: DatapathKind; id: string; reason: string }
    | { kind: 'add-nic'; datapath: DatapathKind; nic: NicPlan; reason: string }
    | { kind: 'remove-nic'; datapath: DatapathKind; name: string; reason: string }
    | { kind: 'add-port'; datapath: DatapathKind; port: VmPortPlan; reason: string }
    | { kind: 'remove-port'; datapath: DatapathKind; id: string; reason: string }
    | { kind: 'start-vm'; vm: VmPlan; reason: string }
    | { kind: 'stop-vm'; vm: VmPlan; reason: string };

export function targetOf(a: Action): string {
    switch (a.kind) {
        case 'reserve-hugepages': case 'resize-hugepages': return `hugepages ${a.hugepages.count} x ${a.hugepages.pageSizeBytes / 2 ** 20}M`;
        case 'release-hugepages': return 'hugepages';
        case 'start-datapath': case 'stop-datapath': return `datapath ${a.datapath}`;
        case 'add-bridge': return `bridge ${a.bridge.name}`;
        case 'remove-bridge': return `bridge ${a.name}`;
        case 'add-link': return `link ${a.link.id}`;
        case 'remove-link': return `link ${a.id}`;
        case 'add-nic': return `nic ${a.nic.name}`;
        case 'remove-nic': return `nic ${a.name}`;
        case 'add-port': return `port ${a.port.id}`;
        case 'remove-port': return `port ${a.id}`;
        case 'start-vm': case 'stop-vm': return `vm ${a.vm.name}`;
    }
}

export function toPlanned(a: Action): PlannedAction {
    return { kind: a.kind, target: targetOf(a), reason: a.reason };
}

/** Terraform-like lines: `+` creates, `-` removes, `~` changes in place. */
export function formatActions(actions: Action[]): string {
    if (actions.length === 0) return 'no changes: everything runs as declared\n';
    const signOf = (a: Action) => (/^(add|start|reserve)-/.test(a.kind) ? '+' : a.kind === 'resize-hugepages' ? '~' : '-');
    const lines = actions.map((a) => `  ${signOf(a)} ${a.kind.padEnd(17)} ${targetOf(a).padEnd(22)} ${a.reason}`.trimEnd());
    const count = (sign: string) => actions.filter((a) => signOf(a) === sign).length;
    const changed = count('~') ? `, ${count('~')} to change in place` : '';
    return `${lines.join('\n')}\n\n${count('+')} to create/start, ${count('-')} to remove/stop${changed}\n`;
}
