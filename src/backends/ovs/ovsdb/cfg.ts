/**
 * ovs-vswitchd reconfigures after a database change and then copies
 * Open_vSwitch.next_cfg into cur_cfg; bumping next_cfg in the same
 * transaction and waiting for cur_cfg to reach it is how a client knows its
 * change is live (what `ovs-vsctl` does without --no-wait).
 */
import type { OvsdbClient } from './client.js';
import { op, type OpResult, type Operation } from './values.js';

export const VSWITCH_DB = 'Open_vSwitch';
const NUDGE_MS = 2000;

export class CfgTimeoutError extends Error {
    constructor(readonly want: number, readonly have: number | undefined, timeoutMs: number) {
        super(`ovs-vswitchd did not apply configuration ${want} within ${timeoutMs} ms (cur_cfg ${have ?? 'unknown'})`);
        this.name = 'CfgTimeoutError';
    }
}

/**
 * Runs `ops` plus `next_cfg += 1` in one transaction, then waits until
 * ovs-vswitchd reports `cur_cfg >= next_cfg`. Returns the results of `ops` only.
 */
export async function transactAndWait(client: OvsdbClient, ops: Operation[], timeoutMs = 10_000): Promise<OpResult[]> {
    const all: Operation[] = [
        ...ops,
        op.mutate('Open_vSwitch', [], [['next_cfg', '+=', 1]]),
        op.select('Open_vSwitch', [], ['next_cfg']),
    ];
    const results = await client.transact(VSWITCH_DB, all);
    const rows = results[all.length - 1]?.rows ?? [];
    if (rows.length === 0) throw new Error('OVSDB: the Open_vSwitch table has no row (database not initialised)');
    await waitCurCfg(client, Number(rows[0].next_cfg), timeoutMs);
    return results.slice(0, ops.length);
}

/** Bumps next_cfg alone and waits: a barrier that ovs-vswitchd has caught up. */
export function bumpAndWait(client: OvsdbClient, timeoutMs?: number): Promise<OpResult[]> {
    return transactAndWait(client, [], timeoutMs);
}

export async function waitCurCfg(client: OvsdbClient, want: number, timeoutMs: number): Promise<void> {
    let have: number | undefined;
    const reached = () => have !== undefined && have >= want;
    let wake: () => void = () => undefined;
    const m = await client.monitor(VSWITCH_DB, { Open_vSwitch: { columns: ['cur_cfg'] } }, (changes) => {
        for (const c of changes) if (c.row) have = Number(c.row.cur_cfg);
        if (reached()) wake();
    });
    try {
        for (const row of m.rows('Open_vSwitch')) have = Number(row.cur_cfg);
        if (reached()) return;
        let timer: NodeJS.Timeout | undefined;
        // ovs-vswitchd 3.1 (netdev datapath, small loaded hosts; measured here)
        // now and then applies a change but leaves cur_cfg behind until some
        // later change: 10 s stalls, after a restart 60 s and more. Another
        // next_cfg bump is such a change, and cur_cfg then passes `want`.
        const nudger = setInterval(() => {
            void client.transact(VSWITCH_DB, [op.mutate('Open_vSwitch', [], [['next_cfg', '+=', 1]])]).catch(() => undefined);
        }, NUDGE_MS);
        const ok = await new Promise<boolean>((resolve) => {
            wake = () => resolve(true);
            timer = setTimeout(() => resolve(false), timeoutMs);
        });
        if (timer) clearTimeout(timer);
        clearInterval(nudger);
        if (!ok) throw new CfgTimeoutError(want, have, timeoutMs);
    } finally {
        await m.cancel();
    }
}
