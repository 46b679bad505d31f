/**
 * Datapath kind → backend. Backends load lazily so a command that never
 * touches a datapath does not pay for koffi or an OVSDB client. Adding a
 * backend is one line in LOADERS.
 */
import type { DatapathKind, Plan } from '../core/plan.js';
import { VtopoError } from '../core/api.js';
import type { DatapathBackend } from './types.js';

const LOADERS: Partial<Record<DatapathKind, () => Promise<DatapathBackend>>> = {
    embedded: async () => (await import('./embedded/index.js')).embeddedBackend,
    ovs: async () => byOvsMode((await import('./ovs/index.js')).ovsBackend, (await import('./ovn/datapath.js')).fabricDatapath),
};

/**
 * One `ovs` backend that serves each call with the backend its plan's OvS
 * mode asks for: a fabric plan (plan.datapaths.ovs.mode 'fabric': an
 * OvS-DPDK per host, joined by OVN) goes to the fabric datapath, every
 * other plan to the single-host OvS backend. The choice is made here, per
 * plan, because the runtime picks backends by DatapathKind alone and a
 * fabric's bridges are `datapath ovs` like any other: so reconcile, execute
 * and status stay generic, and neither backend carries the other's branches.
 */
export function byOvsMode(single: DatapathBackend, fabric: DatapathBackend): DatapathBackend {
    const pick = (plan: Plan) => (plan.datapaths.ovs?.mode === 'fabric' ? fabric : single);
    const unsupported = (what: string) => new VtopoError(`the datapath of this fabric cannot ${what}`, 'use it on a bridge of a one-host topology', 'unsupported');
    return {
        kind: 'ovs',
        running: (p) => pick(p).running(p),
        start: (p) => pick(p).start(p),
        stop: (p) => pick(p).stop(p),
        inventory: (p) => pick(p).inventory(p),
        addBridge: (p, b) => pick(p).addBridge(p, b),
        removeBridge: (p, n) => pick(p).removeBridge(p, n),
        addLink: (p, l) => pick(p).addLink(p, l),
        removeLink: (p, id) => pick(p).removeLink(p, id),
        addVmPort: (p, port) => pick(p).addVmPort(p, port),
        removeVmPort: (p, id) => pick(p).removeVmPort(p, id),
        addNic: (p, n) => pick(p).addNic(p, n),
        removeNic: (p, n) => pick(p).removeNic(p, n),
        setImpair: (p, t, i) => pick(p).setImpair(p, t, i),
        snapshot: (p) => pick(p).snapshot(p),
        describe: async (p) => pick(p).describe?.(p),
        settle: async (p, ids, onWait) => pick(p).settle?.(p, ids, onWait),
        deployHosts: async (p, progress) => (await pick(p).deployHosts?.(p, progress)) ?? [],
        subscribe: async (p, onEvent) => {
            const b = pick(p);
            // Without a push channel status polls (watch's tick): nothing to close.
            return b.subscribe ? b.subscribe(p, onEvent) : { close() { /* nothing */ } };
        },
        setLink: async (p, t, up) => {
            const b = pick(p);
            if (!b.setLink) throw unsupported('take a carrier away');
            return b.setLink(p, t, up);
        },
        openCapture: async (p, id, dir) => {
            const b = pick(p);
            if (!b.openCapture) throw unsupported('capture a port');
            return b.openCapture(p, id, dir);
        },
    };
}

const cache = new Map<DatapathKind, DatapathBackend>();

export async function backendFor(kind: DatapathKind): Promise<DatapathBackend> {
    const hit = cache.get(kind);
    if (hit) return hit;
    const load = LOADERS[kind];
    if (!load) {
        throw new VtopoError(
            `the ${kind} datapath is not available in this build of vtopo`,
            kind === 'ovs' ? 'use `datapath embedded` for these bridges' : 'update vtopo',
            'no-backend',
        );
    }
    const b = await load();
    cache.set(kind, b);
    return b;
}
