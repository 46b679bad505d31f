/** Status from the backends' snapshots and the guests' state; watch polls and pushes changes. */
import type { DatapathKind, Plan } from '../core/plan.js';
import type { RuntimeDeps } from './deps.js';
import type { DatapathStatus, LinkStatus, PollerStatus, PortStatus, Status, VmStatus } from '../core/status.js';

function downPort(p: { id: string; vm?: string; port: string; bridge: string; datapath: DatapathKind }): PortStatus {
    return { ...p, link: 'down', rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [] };
}

export async function collectStatus(file: string, topology: string, plan: Plan | undefined, deps: RuntimeDeps): Promise<Status> {
    const at = new Date().toISOString();
    if (!plan) return { topology, file, deployed: false, at, datapaths: [], vms: [], ports: [] };
    const datapaths: DatapathStatus[] = [];
    const ports = new Map<string, PortStatus>();
    const pollers: PollerStatus[] = [];
    const links: LinkStatus[] = [];
    const datapathWarnings: NonNullable<Status['datapath_warnings']> = [];
    let fabric: Status['fabric'];
    for (const kind of Object.keys(plan.datapaths) as DatapathKind[]) {
        try {
            const backend = await deps.backend(kind);
            const up = await backend.running(plan);
            const snap = up ? await backend.snapshot(plan) : await backend.describe?.(plan).catch(() => undefined);
            if (!snap) {
                datapaths.push({ kind, running: false, error: 'not running' });
                continue;
            }
            if (snap.fabric) fabric = snap.fabric;
            datapaths.push(snap.datapath);
            for (const p of snap.ports) ports.set(p.id, p);
            if (snap.pollers) pollers.push(...snap.pollers);
            if (snap.links) links.push(...snap.links);
            for (const w of snap.warnings ?? []) datapathWarnings.push({ datapath: kind, ...w });
        } catch (err) {
            datapaths.push({ kind, running: false, error: err instanceof Error ? err.message : String(err) });
        }
    }
    // Every declared port appears, even when its datapath is down: status shows what is missing.
    const declared: PortStatus[] = [
        ...plan.vms.flatMap((v) => v.ports.map((p) => ports.get(p.id)
            ?? downPort({ id: p.id, vm: p.vm, port: p.name, bridge: p.bridge, datapath: p.datapath }))),
        ...plan.nics.map((n) => ports.get(n.name) ?? downPort({ id: n.name, port: n.name, bridge: n.bridge, datapath: n.datapath })),
    ];
    const vms: VmStatus[] = await Promise.all(plan.vms.map(async (vm) => {
        try {
            return await deps.vms.status(vm);
        } catch (err) {
            return { name: vm.name, state: 'absent' as const, reason: err instanceof Error ? err.message : String(err) };
        }
    }));
    return {
        topology: plan.topology, file, deployed: true, at, datapaths, vms, ports: declared,
        ...(links.length ? { links } : {}),
        ...(pollers.length ? { pollers } : {}), ...(datapathWarnings.length ? { datapath_warnings: datapathWarnings } : {}),
        ...(fabric ? { fabric } : {}),
    };
}

/** Status without its timestamp and fast-moving uptime, to tell whether anything changed. */
export function statusKey(s: Status): string {
    return JSON.stringify({ ...s, at: undefined, datapaths: s.datapaths.map((d) => ({ ...d, uptime_s: undefined })) });
}

/**
 * Polls `get` every `pollMs` (about once a second) and pushes a status
 * whenever it changed (and at least every `intervalMs`). `get` receives `wake`: call it to poll
 * at once (a datapath event) instead of at the next tick.
 */
export function watchStatus(get: (wake: () => void) => Promise<Status>, onStatus: (s: Status) => void, intervalMs = 2000, pollMs = Math.min(intervalMs, 1000)): { close(): void } {
    let closed = false;
    let last = '';
    let lastPush = 0;
    let timer: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;
    const wake = () => {
        if (closed) return;
        if (running) {
            again = true;
            return;
        }
        if (timer) clearTimeout(timer);
        void tick();
    };
    const tick = async () => {
        if (closed) return;
        running = true;
        try {
            const s = await get(wake);
            const key = statusKey(s);
            if (!closed && (key !== last || Date.now() - lastPush >= intervalMs)) {
                last = key;
                lastPush = Date.now();
                onStatus(s);
            }
        } catch { /* the next tick tries again; a watcher never throws into its caller */ }
        running = false;
        if (!closed) timer = setTimeout(tick, again ? 0 : pollMs);
        again = false;
    };
    void tick();
    return { close() { closed = true; if (timer) clearTimeout(timer); } };
}
