/**
 * Live port events from OvS for diagnostics: an OVSDB monitor on our
 * Interface rows turns link/vhost/error changes into events the moment
 * ovs-vswitchd writes them (statistics arrive every stats-update-interval,
 * 5 s by default), and flags a port that stays down too long.
 */
import type { Plan } from '../../core/plan.js';
import type { PortStatus } from '../../core/status.js';
import { K_TOPOLOGY } from './names.js';
import { VSWITCH_DB } from './ovsdb/cfg.js';
import { OvsdbClient, type RowChange } from './ovsdb/client.js';
import { toRecord } from './ovsdb/values.js';
import { ovsPaths } from './paths.js';
import { INTERFACE_COLUMNS, interfaceToPortStatus } from './status.js';

export type OvsPortEventKind = 'added' | 'removed' | 'link' | 'vhost' | 'error' | 'stats' | 'stuck-down';

export interface OvsPortEvent {
    kind: OvsPortEventKind;
    /** `<vm>.<port>` or nic name. */
    id: string;
    /** The port now (the last known state for 'removed'). */
    port: PortStatus;
    previous?: PortStatus;
    /** For 'error', 'stuck-down': a sentence for a diagnostic. */
    message?: string;
}

export interface OvsPortWatch {
    /** Current state of every port of ours, by id. */
    ports(): PortStatus[];
    close(): void;
}

export interface WatchOptions {
    /** Report a port that has been down this long since it appeared or went down (0: never). */
    stuckDownMs?: number;
}

/**
 * Subscribes to our Interface rows. Survives an ovsdb-server restart (the
 * client reconnects and the monitor resyncs). The first events describe the
 * ports that already exist ('added').
 */
export async function watchOvsPorts(plan: Plan, onEvent: (e: OvsPortEvent) => void, opts: WatchOptions = {}): Promise<OvsPortWatch> {
    const client = await OvsdbClient.connect(ovsPaths(plan).dbSocket, { reconnect: true });
    const current = new Map<string, { uuid: string; port: PortStatus }>();
    const stuckTimers = new Map<string, NodeJS.Timeout>();
    const stuckMs = opts.stuckDownMs ?? 0;

    const armStuck = (port: PortStatus) => {
        clearTimeout(stuckTimers.get(port.id));
        stuckTimers.delete(port.id);
        if (stuckMs <= 0 || port.link === 'up') return;
        stuckTimers.set(port.id, setTimeout(() => {
            const now = current.get(port.id)?.port;
            if (!now || now.link === 'up') return;
            onEvent({ kind: 'stuck-down', id: now.id, port: now, message: stuckMessage(now, stuckMs) });
        }, stuckMs));
    };

    const handle = (changes: RowChange[]) => {
        for (const ch of changes) {
            if (ch.kind === 'delete') {
                const gone = [...current.entries()].find(([, v]) => v.uuid === ch.uuid);
                if (!gone) continue;
                current.delete(gone[0]);
                clearTimeout(stuckTimers.get(gone[0]));
                stuckTimers.delete(gone[0]);
                onEvent({ kind: 'removed', id: gone[0], port: gone[1].port });
                continue;
            }
            if (toRecord(ch.row!.external_ids)[K_TOPOLOGY] !== plan.topology) continue;
            const port = interfaceToPortStatus(ch.row!);
            if (!port) continue;
            const before = current.get(port.id)?.port;
            current.set(port.id, { uuid: ch.uuid, port });
            for (const e of diff(before, port)) onEvent(e);
            if (!before || before.link !== port.link) armStuck(port);
        }
    };

    await client.monitor(VSWITCH_DB, { Interface: { columns: INTERFACE_COLUMNS } }, handle);
    return {
        ports: () => [...current.values()].map((v) => v.port),
        close: () => {
            for (const t of stuckTimers.values()) clearTimeout(t);
            stuckTimers.clear();
            client.close();
        },
    };
}

function diff(before: PortStatus | undefined, port: PortStatus): OvsPortEvent[] {
    const base = { id: port.id, port, previous: before };
    if (!before) return [{ kind: 'added', ...base }];
    const out: OvsPortEvent[] = [];
    if (before.link !== port.link) out.push({ kind: 'link', ...base });
    if (before.vhost !== port.vhost) out.push({ kind: 'vhost', ...base });
    if (before.error !== port.error) {
        out.push({ kind: 'error', ...base, message: port.error ? `OvS reports for ${port.id}: ${port.error}` : undefined });
    }
    if (before.rx_packets !== port.rx_packets || before.tx_packets !== port.tx_packets || before.drops !== port.drops) {
        out.push({ kind: 'stats', ...base });
    }
    return out;
}

function stuckMessage(port: PortStatus, ms: number): string {
    const secs = Math.round(ms / 1000);
    if (port.error) return `${port.id} has been down for ${secs} s: ${port.error}`;
    if (port.vhost === 'connecting') return `${port.id} has been down for ${secs} s: OvS cannot connect to the VM's vhost-user socket (is the VM running?)`;
    if (port.vhost === 'waiting') return `${port.id} has been down for ${secs} s: no VM connected to the OvS vhost-user socket`;
    return `${port.id} has been down for ${secs} s`;
}
