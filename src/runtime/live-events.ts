/**
 * Push from the datapaths into watch: backends that can subscribe (OvS's
 * OVSDB monitor) wake the status loop at once, and their "stuck down"
 * sentences annotate the port until it comes up. Follows redeploys: the
 * subscription is renewed whenever the deployed plan changes.
 */
import type { DatapathKind, Plan } from '../core/plan.js';
import type { RuntimeDeps } from './deps.js';
import type { Status } from '../core/status.js';

export interface LiveEvents {
    /** Subscribes for `plan` (or drops the subscription when undefined); idempotent per plan. */
    follow(plan: Plan | undefined): void;
    /** Adds what only the events know (stuck-down sentences) to a fresh status. */
    annotate(s: Status): Status;
    close(): void;
}

export function liveEvents(deps: RuntimeDeps, wake: () => void): LiveEvents {
    let key = '';
    let subs: { close(): void }[] = [];
    let generation = 0;
    const stuck = new Map<string, string>();
    const drop = () => {
        generation++;
        for (const s of subs) s.close();
        subs = [];
        stuck.clear();
    };
    return {
        follow(plan) {
            const k = plan ? JSON.stringify({ t: plan.topology, d: plan.datapaths, p: plan.vms.flatMap((v) => v.ports.map((p) => p.id)) }) : '';
            if (k === key) return;
            key = k;
            drop();
            if (!plan) return;
            const mine = generation;
            for (const kind of Object.keys(plan.datapaths) as DatapathKind[]) {
                void (async () => {
                    const backend = await deps.backend(kind);
                    if (!backend.subscribe) return;
                    const sub = await backend.subscribe(plan, (e) => {
                        if (e.kind === 'stuck-down' && e.message) stuck.set(e.id, e.message);
                        if (e.kind === 'link' || e.kind === 'removed') stuck.delete(e.id);
                        wake();
                    });
                    // A newer plan arrived while this one was subscribing.
                    if (mine !== generation) sub.close();
                    else subs.push(sub);
                })().catch(() => {
                    // Not reachable now (datapath down): let the next plan check try again.
                    if (mine === generation) key = '';
                });
            }
        },
        annotate(s) {
            if (stuck.size === 0) return s;
            return {
                ...s,
                ports: s.ports.map((p) => (p.link !== 'up' && !p.error && stuck.has(p.id) ? { ...p, error: stuck.get(p.id)! } : p)),
            };
        },
        close: drop,
    };
}
