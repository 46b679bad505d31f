/**
 * Datapath kind → backend. Backends load lazily so a command that never
 * touches a datapath does not pay for koffi or an OVSDB client. Adding a
 * backend is one line in LOADERS.
 */
import type { DatapathKind } from '../core/plan.js';
import { VtopoError } from '../core/api.js';
import type { DatapathBackend } from './types.js';

const LOADERS: Partial<Record<DatapathKind, () => Promise<DatapathBackend>>> = {
    embedded: async () => (await import('./embedded/index.js')).embeddedBackend,
    ovs: async () => (await import('./ovs/index.js')).ovsBackend,
};

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
