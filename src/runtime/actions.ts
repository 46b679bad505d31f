/** How actions are named and printed; the Action type itself is in the leaf module (src/core/actions.ts). */
import type { Action } from '../core/actions.js';
export type { Action } from '../core/actions.js';
import type { PlannedAction } from '../core/api.js';

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
        case 'set-impair': return 'port' in a.target ? `port ${a.target.port}` : `link ${a.target.link}`;
        case 'start-vm': case 'stop-vm': return `vm ${a.vm.name}`;
    }
}

export function toPlanned(a: Action): PlannedAction {
    return { kind: a.kind, target: targetOf(a), reason: a.reason };
}

/** Terraform-like lines: `+` creates, `-` removes, `~` changes in place. */
export function formatActions(actions: Action[]): string {
    if (actions.length === 0) return 'no changes: everything runs as declared\n';
    const signOf = (a: Action) => (/^(add|start|reserve)-/.test(a.kind) ? '+' : a.kind === 'resize-hugepages' || a.kind === 'set-impair' ? '~' : '-');
    const lines = actions.map((a) => `  ${signOf(a)} ${a.kind.padEnd(17)} ${targetOf(a).padEnd(22)} ${a.reason}`.trimEnd());
    const count = (sign: string) => actions.filter((a) => signOf(a) === sign).length;
    const changed = count('~') ? `, ${count('~')} to change in place` : '';
    return `${lines.join('\n')}\n\n${count('+')} to create/start, ${count('-')} to remove/stop${changed}\n`;
}
