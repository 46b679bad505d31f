/**
 * diff(desired, deployed, live) → Action[]. PURE. The deployed Plan tells
 * what each running thing was configured as (inventories only give names);
 * the live view tells what actually runs now, so a crashed guest or a
 * vanished datapath is brought back by the next deploy.
 */
import type { DatapathInventory } from '../backends/types.js';
import type { DatapathKind, ImpairmentPlan, Plan, VmPlan, VmPortPlan } from '../core/plan.js';
import { formatImpairment } from '../core/impair.js';
import type { VmState } from '../core/status.js';
import type { Action } from './actions.js';

export interface LiveView {
    datapaths: Partial<Record<DatapathKind, { running: boolean; inventory?: DatapathInventory }>>;
    /** State of every VM of the desired and the deployed plan. */
    vms: Record<string, VmState>;
}

const KINDS: DatapathKind[] = ['embedded', 'ovs'];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const EMPTY: DatapathInventory = { bridges: [], links: [], vmPorts: [], nics: [] };

/** What QEMU itself sees of a port: a change here needs a guest restart; bridge moves and VLAN changes do not. */
function guestSide(p: VmPortPlan) {
    const { bridge: _b, datapath: _d, queueCores: _q, vlan: _v, impair: _i, ...rest } = p;
    return rest;
}
/** A port or link without its impairment: a change there alone is applied in place (set-impair). */
function withoutImpair<T extends { impair?: unknown }>(x: T | undefined): Omit<T, 'impair'> | undefined {
    if (!x) return x;
    const { impair: _i, ...rest } = x;
    return rest;
}
/** What QEMU sees of a VM: a change here needs a restart. */
export function guestSideOfVm(v: VmPlan) {
    return { ...v, ports: v.ports.map(guestSide) };
}

/** Short human summary of what changed in a VM ("queues 1→2 on eth0"). */
export function vmChanges(old: VmPlan, now: VmPlan): string {
    const out: string[] = [];
    for (const k of ['cpus', 'memoryBytes', 'accel', 'image', 'memoryBackend', 'pin'] as const) {
        if (!same(old[k], now[k])) out.push(`${k} ${JSON.stringify(old[k]) ?? '-'}→${JSON.stringify(now[k]) ?? '-'}`);
    }
    const oldPorts = new Map(old.ports.map((p) => [p.name, p]));
    for (const p of now.ports) {
        const o = oldPorts.get(p.name);
        if (!o) { out.push(`port ${p.name} added`); continue; }
        for (const k of ['queues', 'mac', 'ip', 'mtu', 'vhostMode', 'mrgRxbuf', 'vectors', 'ring'] as const) {
            if (!same(o[k], p[k])) out.push(`${p.name} ${k} ${o[k] ?? '-'}→${p[k] ?? '-'}`);
        }
    }
    for (const o of old.ports) if (!now.ports.some((p) => p.name === o.name)) out.push(`port ${o.name} removed`);
    return out.length ? out.join(', ') : 'changed';
}

/**
 * `uncertain`: bridges, NICs and ports (`bridge:NAME`, `nic:NAME`, `port:ID`)
 * whose settings are unknown because a deploy stopped part-way while
 * changing them: they are made anew if they exist.
 */
export function reconcile(desired: Plan, deployed: Plan | undefined, live: LiveView, uncertain: ReadonlySet<string> = new Set()): Action[] {
    const teardownPorts: Action[] = [];
    const stopVms: Action[] = [];
    const teardownNet: Action[] = [];
    const stopDatapaths: Action[] = [];
    const hugeDown: Action[] = [];
    const hugeUp: Action[] = [];
    const startDatapaths: Action[] = [];
    const buildNet: Action[] = [];
    const startVms: Action[] = [];
    const addPorts: Action[] = [];
    const impairs: Action[] = [];

    // Guests first: which start, stop or restart decides which ports move.
    const deployedVms = new Map((deployed?.vms ?? []).map((v) => [v.name, v]));
    const desiredVms = new Map(desired.vms.map((v) => [v.name, v]));
    const restarting = new Set<string>();
    for (const old of deployed?.vms ?? []) {
        if (!desiredVms.has(old.name)) stopVms.push({ kind: 'stop-vm', vm: old, reason: 'removed from the file' });
    }
    for (const vm of desired.vms) {
        const old = deployedVms.get(vm.name);
        const state = live.vms[vm.name] ?? 'absent';
        const up = state === 'running' || state === 'booting';
        if (old && up && !same(guestSideOfVm(old), guestSideOfVm(vm))) {
            stopVms.push({ kind: 'stop-vm', vm: old, reason: `restart: ${vmChanges(old, vm)}` });
            startVms.push({ kind: 'start-vm', vm, reason: `restart: ${vmChanges(old, vm)}` });
            restarting.add(vm.name);
        } else if (!up) {
            if (old && state !== 'absent') stopVms.push({ kind: 'stop-vm', vm: old, reason: `clean up after ${state}` });
            startVms.push({ kind: 'start-vm', vm, reason: !old ? 'new' : `was ${state}` });
            restarting.add(vm.name);
        }
    }

    // Hugepages. Another count of the same pages is a resize: the mount stays
    // and so do the guests on it. Anything else replaces the mount, which
    // moves every guest backed by it (their memoryBackend changed too) and
    // restarts OvS-DPDK if it uses it (below).
    const hpOld = deployed?.host.hugepages;
    const hpNew = desired.host.hugepages;
    const resize = !!hpOld && !!hpNew && hpOld.pageSizeBytes === hpNew.pageSizeBytes && hpOld.mountDir === hpNew.mountDir;
    const remount = !!hpOld && !resize && !same(hpOld, hpNew);
    if (resize && hpOld.count !== hpNew.count) {
        hugeUp.push({ kind: 'resize-hugepages', hugepages: hpNew, reason: `${hpOld.count} → ${hpNew.count} pages` });
    } else if (!resize) {
        if (hpOld && !same(hpOld, hpNew)) hugeDown.push({ kind: 'release-hugepages', reason: hpNew ? 'page size changed' : 'no longer declared' });
        if (hpNew && !same(hpOld, hpNew)) hugeUp.push({ kind: 'reserve-hugepages', hugepages: hpNew, reason: hpOld ? 'page size changed' : 'declared' });
    }

    const desiredPorts = desired.vms.flatMap((v) => v.ports);
    const deployedPorts = new Map((deployed?.vms ?? []).flatMap((v) => v.ports).map((p) => [p.id, p]));
    const deployedBridges = new Map((deployed?.bridges ?? []).map((b) => [b.name, b]));
    const deployedNics = new Map((deployed?.nics ?? []).map((n) => [n.name, n]));
    const deployedLinks = new Map((deployed?.links ?? []).map((l) => [l.id, l]));

    for (const kind of KINDS) {
        const want = desired.datapaths[kind];
        const had = deployed?.datapaths[kind];
        const seen = live.datapaths[kind];
        const running = seen?.running ?? false;
        if (!want) {
            if (running || had) stopDatapaths.push({ kind: 'stop-datapath', datapath: kind, reason: 'no bridge uses it any more' });
            continue;
        }
        let inv = seen?.inventory ?? EMPTY;
        // Its memory is on the hugepage mount being replaced (its plan names only the directory).
        const onOldMount = remount && kind === 'ovs' && !!(had as { hugepageDir?: string } | undefined)?.hugepageDir;
        if (running && had && (!same(had, want) || onOldMount)) {
            const why = onOldMount && same(had, want) ? 'restart: its hugepages changed' : 'restart: its settings changed';
            stopDatapaths.push({ kind: 'stop-datapath', datapath: kind, reason: why });
            startDatapaths.push({ kind: 'start-datapath', datapath: kind, reason: why });
            inv = EMPTY;
        } else if (!running) {
            startDatapaths.push({ kind: 'start-datapath', datapath: kind, reason: had ? 'not running' : 'new' });
            inv = EMPTY;
        }
        diffDatapath(kind, inv);
    }

    function diffDatapath(kind: DatapathKind, inv: DatapathInventory) {
        const bridges = desired.bridges.filter((b) => b.datapath === kind);
        const dirty = new Set<string>();
        for (const b of bridges) {
            const old = deployedBridges.get(b.name);
            if (inv.bridges.includes(b.name) && ((old && !same(old, b)) || uncertain.has(`bridge:${b.name}`))) dirty.add(b.name);
        }
        const touchesDirty = (...names: string[]) => names.some((n) => dirty.has(n));

        for (const id of inv.vmPorts) {
            const want = desiredPorts.find((p) => p.id === id && p.datapath === kind);
            const old = deployedPorts.get(id);
            if (!want) teardownPorts.push({ kind: 'remove-port', datapath: kind, id, reason: 'removed or moved' });
            else if (restarting.has(want.vm)) teardownPorts.push({ kind: 'remove-port', datapath: kind, id, reason: `vm ${want.vm} restarts` });
            else if ((old && !same(withoutImpair(old), withoutImpair(want))) || uncertain.has(`port:${id}`) || touchesDirty(want.bridge)) teardownPorts.push({ kind: 'remove-port', datapath: kind, id, reason: 'changed' });
            else if (!same(old?.impair ?? {}, want.impair ?? {})) impairs.push({ kind: 'set-impair', datapath: kind, target: { port: id }, impair: want.impair ?? {}, reason: impairReason(old?.impair, want.impair) });
        }
        const portGone = new Set(teardownPorts.filter((a) => a.kind === 'remove-port' && a.datapath === kind).map((a) => (a as { id: string }).id));
        for (const p of desiredPorts.filter((x) => x.datapath === kind)) {
            if (!inv.vmPorts.includes(p.id) || portGone.has(p.id)) {
                const why = !deployedPorts.has(p.id) ? 'new' : restarting.has(p.vm) ? `vm ${p.vm} restarts` : 'changed or missing';
                addPorts.push({ kind: 'add-port', datapath: kind, port: p, reason: why });
            }
        }

        const links = desired.links.filter((l) => bridges.some((b) => b.name === l.a));
        for (const id of inv.links) {
            const want = links.find((l) => l.id === id);
            if (!want) teardownNet.push({ kind: 'remove-link', datapath: kind, id, reason: 'removed' });
            else if (touchesDirty(want.a, want.b)) teardownNet.push({ kind: 'remove-link', datapath: kind, id, reason: 'bridge changed' });
            else {
                const had = deployedLinks.get(id)?.impair;
                if (!same(had ?? {}, want.impair ?? {})) impairs.push({ kind: 'set-impair', datapath: kind, target: { link: id }, impair: want.impair ?? {}, reason: impairReason(had, want.impair) });
            }
        }
        const nics = desired.nics.filter((n) => n.datapath === kind);
        for (const name of inv.nics) {
            const want = nics.find((n) => n.name === name);
            const old = deployedNics.get(name);
            if (!want) teardownNet.push({ kind: 'remove-nic', datapath: kind, name, reason: 'removed or moved' });
            else if ((old && !same(old, want)) || uncertain.has(`nic:${name}`) || touchesDirty(want.bridge)) teardownNet.push({ kind: 'remove-nic', datapath: kind, name, reason: 'changed' });
        }
        for (const name of inv.bridges) {
            if (!bridges.some((b) => b.name === name)) teardownNet.push({ kind: 'remove-bridge', datapath: kind, name, reason: 'removed or moved' });
            else if (dirty.has(name)) teardownNet.push({ kind: 'remove-bridge', datapath: kind, name, reason: 'changed' });
        }
        const removed = (k: string, key: string) => teardownNet.some((a) => {
            const x = a as { kind: string; datapath?: string; name?: string; id?: string };
            return x.kind === k && x.datapath === kind && (x.name ?? x.id) === key;
        });
        for (const b of bridges) {
            if (!inv.bridges.includes(b.name) || removed('remove-bridge', b.name)) {
                buildNet.push({ kind: 'add-bridge', datapath: kind, bridge: b, reason: deployedBridges.has(b.name) ? 'changed or missing' : 'new' });
            }
        }
        for (const l of links) {
            if (!inv.links.includes(l.id) || removed('remove-link', l.id)) buildNet.push({ kind: 'add-link', datapath: kind, link: l, reason: 'new or changed' });
        }
        for (const n of nics) {
            if (!inv.nics.includes(n.name) || removed('remove-nic', n.name)) {
                buildNet.push({ kind: 'add-nic', datapath: kind, nic: n, reason: deployedNics.has(n.name) ? 'changed or missing' : 'new' });
            }
        }
    }

    // Links and NICs go before the bridges that hold them; bridges are added before what they hold.
    const order = (k: string) => ['remove-link', 'remove-nic', 'remove-bridge', 'add-bridge', 'add-link', 'add-nic'].indexOf(k);
    teardownNet.sort((a, b) => order(a.kind) - order(b.kind));
    buildNet.sort((a, b) => order(a.kind) - order(b.kind));

    return [
        ...teardownPorts, ...stopVms, ...teardownNet, ...stopDatapaths, ...hugeDown,
        ...hugeUp, ...startDatapaths, ...buildNet, ...impairs, ...startVms, ...addPorts,
    ];
}

function impairReason(old: ImpairmentPlan | undefined, now: ImpairmentPlan | undefined): string {
    const text = (i: ImpairmentPlan | undefined) => (i && Object.keys(i).length ? formatImpairment(i) : 'none');
    return `impairment ${text(old)} → ${text(now)}`;
}

/**
 * What a deploy that stopped part-way leaves in doubt: the bridges, NICs
 * and ports it was adding or changing (its plan differs from the deployed
 * one there), which may now run with either plan's settings.
 */
export function partsInDoubt(deployed: Plan | undefined, pending: Plan | undefined): Set<string> {
    const out = new Set<string>();
    if (!pending) return out;
    const was = <T>(xs: T[] | undefined, key: (x: T) => string) => new Map((xs ?? []).map((x) => [key(x), x]));
    const bridges = was(deployed?.bridges, (b) => b.name);
    for (const b of pending.bridges) if (!same(bridges.get(b.name), b)) out.add(`bridge:${b.name}`);
    const nics = was(deployed?.nics, (n) => n.name);
    for (const n of pending.nics) if (!same(nics.get(n.name), n)) out.add(`nic:${n.name}`);
    const ports = was(deployed?.vms.flatMap((v) => v.ports), (p) => p.id);
    for (const p of pending.vms.flatMap((v) => v.ports)) if (!same(ports.get(p.id), p)) out.add(`port:${p.id}`);
    return out;
}
