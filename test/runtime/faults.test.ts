/**
 * A backend failing at any one step of a deploy, over fake backends: every
 * call a deploy makes (hugepages, datapath, bridges, links, NICs, guests,
 * ports) is made to fail in turn, before it does anything. A failed first
 * deploy must leave nothing behind; a failed update must leave a state that
 * the next deploy completes (or, with the edit undone, takes back) and
 * destroy clears, with nothing left over; a
 * destroy that fails part-way is finished by the next one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import { fakeWorld, type FakeWorld } from './fakes.js';
import { TWO } from './helpers.js';

const A = TWO('link br0 br1\n  nic up { driver tap  bridge br1 }').replace('poll-cores 1', 'poll-cores 1  hugepages 512M');
// The edit: a guest added and one restarted, a port moved to the other bridge, the NIC's queues, the link gone, more hugepages.
const B = TWO('vm c { port eth0 { bridge br0  ip 10.0.0.3/24 } }\n  nic up { driver tap  queues 2  bridge br1 }', 2, 2)
    .replace('poll-cores 1', 'poll-cores 1  hugepages 1G')
    .replace('port eth0 { bridge br0  ip 10.0.0.2/24 }', 'port eth0 { bridge br1  ip 10.0.0.2/24 }');

let dirs: string[] = [];
afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
});

function lab(text: string) {
    const dir = mkdtempSync('/tmp/vtflt-');
    dirs.push(dir);
    const file = path.join(dir, 't.vtopo');
    writeFileSync(file, text);
    const w = fakeWorld(path.join(dir, 'run'));
    return { dir, file, w, rt: createRuntime(w.deps) };
}

/** Calls the fakes record for one deploy of `to`, from nothing or from `from`. */
async function callsOf(to: string, from?: string): Promise<number> {
    const l = lab(from ?? to);
    if (from) await l.rt.deploy(l.file);
    l.w.calls.length = 0;
    writeFileSync(l.file, to);
    await l.rt.deploy(l.file);
    return l.w.calls.length;
}

function empty(w: FakeWorld): string[] {
    const left: string[] = [];
    if (w.vms.size) left.push(`guests ${[...w.vms.keys()]}`);
    if (w.datapaths.size) left.push(`datapaths ${[...w.datapaths.keys()]}`);
    if (w.reserved) left.push(`${w.reserved} hugepages`);
    return left;
}

function matchesB(w: FakeWorld): string[] {
    const bad: string[] = [];
    const inv = w.datapaths.get('embedded');
    if (!inv) return ['embedded datapath not running'];
    const same = (a: string[], b: string[]) => [...a].sort().join() === [...b].sort().join();
    if (!same(inv.bridges, ['br0', 'br1'])) bad.push(`bridges ${inv.bridges}`);
    if (!same(inv.links, [])) bad.push(`links ${inv.links}`);
    if (!same(inv.nics, ['up'])) bad.push(`nics ${inv.nics}`);
    if (!same(inv.vmPorts, ['a.eth0', 'b.eth0', 'c.eth0'])) bad.push(`ports ${inv.vmPorts}`);
    if (!same([...w.vms].filter(([, s]) => s === 'running').map(([n]) => n), ['a', 'b', 'c'])) bad.push(`guests ${[...w.vms]}`);
    if (w.reserved !== 512) bad.push(`${w.reserved} hugepages, want 512`);
    return bad;
}

describe('a backend failing at any step', () => {
    it('of a first deploy: nothing is left, and the next deploy and destroy work', async () => {
        const n = await callsOf(A);
        expect(n).toBeGreaterThan(8);
        const failures: string[] = [];
        for (let k = 1; k <= n; k++) {
            const { file, w, rt, dir } = lab(A);
            w.failAt = k;
            const err = await rt.deploy(file).then(() => undefined, (e: Error) => e);
            if (!err) failures.push(`call ${k}: the deploy did not fail`);
            else if (!/injected failure/.test(`${err.message} ${(err as { cause?: Error }).cause?.message ?? ''}`)) failures.push(`call ${k}: the error does not say what failed: ${err.message}`);
            const left = empty(w);
            if (left.length) failures.push(`call ${k}: a failed first deploy left ${left.join(', ')}`);
            await rt.deploy(file);
            await rt.destroy(file);
            const after = empty(w);
            if (after.length) failures.push(`call ${k}: destroy left ${after.join(', ')}`);
            if (existsSync(path.join(dir, 'run', 't'))) failures.push(`call ${k}: destroy left the run dir`);
        }
        expect(failures).toEqual([]);
    });

    it('of an update: the next deploy completes it, or destroy clears it', async () => {
        const n = await callsOf(B, A);
        expect(n).toBeGreaterThan(5);
        const failures: string[] = [];
        for (let k = 1; k <= n; k++) {
            for (const then of ['deploy', 'revert', 'destroy'] as const) {
                const { file, w, rt } = lab(A);
                await rt.deploy(file);
                writeFileSync(file, B);
                w.failAt = k;
                const err = await rt.deploy(file).then(() => undefined, (e: Error) => e);
                if (!err) failures.push(`call ${k}: the update did not fail`);
                if (then === 'deploy') {
                    await rt.deploy(file).catch((e: Error) => failures.push(`call ${k}: the next deploy failed: ${e.message}`));
                    const bad = matchesB(w);
                    if (bad.length) failures.push(`call ${k}: after the next deploy: ${bad.join('; ')}`);
                } else if (then === 'revert') {
                    // The user gives up on the edit: what the failed update started must go too.
                    writeFileSync(file, A);
                    await rt.deploy(file).catch((e: Error) => failures.push(`call ${k}: deploying the old file failed: ${e.message}`));
                    const extra = [...w.vms.keys()].filter((v) => v !== 'a' && v !== 'b');
                    if (extra.length) failures.push(`call ${k}: back on the old file, guests ${extra} still run`);
                    // vm a has 1 vCPU in the old file, 2 in the edit; b.eth0 is on br0, br1 in the edit; the NIC has 1 queue, 2 in the edit.
                    if (w.started.get('a')?.cpus !== 1) failures.push(`call ${k}: back on the old file, vm a still runs with the edit's ${w.started.get('a')?.cpus} vCPUs`);
                    if ((w.added.get('b.eth0') as { bridge?: string } | undefined)?.bridge !== 'br0') failures.push(`call ${k}: back on the old file, port b.eth0 is still on the edit's bridge`);
                    if ((w.added.get('up') as { queues?: number } | undefined)?.queues !== 1) failures.push(`call ${k}: back on the old file, nic up still has the edit's queues`);
                }
                await rt.destroy(file).catch((e: Error) => failures.push(`call ${k}, then ${then}: destroy failed: ${e.message}`));
                const left = empty(w);
                if (left.length) failures.push(`call ${k}, then ${then}: destroy left ${left.join(', ')}`);
            }
        }
        expect(failures).toEqual([]);
    });

    it('of a destroy: a second destroy clears what the first left', async () => {
        const probe = lab(B);
        await probe.rt.deploy(probe.file);
        probe.w.calls.length = 0;
        await probe.rt.destroy(probe.file);
        const n = probe.w.calls.length;
        expect(n).toBeGreaterThan(3);
        const failures: string[] = [];
        for (let k = 1; k <= n; k++) {
            const { file, w, rt, dir } = lab(B);
            await rt.deploy(file);
            w.failAt = k;
            await rt.destroy(file).catch(() => undefined);
            await rt.destroy(file).catch((e: Error) => failures.push(`call ${k}: the second destroy failed: ${e.message}`));
            const left = empty(w);
            if (left.length) failures.push(`call ${k}: two destroys left ${left.join(', ')}`);
            if (existsSync(path.join(dir, 'run', 't'))) failures.push(`call ${k}: two destroys left the run dir`);
        }
        expect(failures).toEqual([]);
    });

    it('of a first deploy killed at that step (no rollback): the next deploy or destroy recovers', async () => {
        const n = await callsOf(A);
        const failures: string[] = [];
        for (let k = 1; k <= n; k++) {
            for (const then of ['deploy', 'destroy'] as const) {
                const { file, w, rt, dir } = lab(A);
                const stateFile = path.join(dir, 'run', 't', 'state', 'state.json');
                // What a kill -9 at call k leaves: the world and the state file as they are then.
                let crash: { state: string; world: Pick<FakeWorld, 'vms' | 'datapaths' | 'started' | 'added' | 'reserved'> } | undefined;
                w.failAt = k;
                w.onFail = () => {
                    crash = {
                        state: existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '',
                        world: structuredClone({ vms: w.vms, datapaths: w.datapaths, started: w.started, added: w.added, reserved: w.reserved }),
                    };
                };
                await rt.deploy(file).catch(() => undefined);
                if (!crash) {
                    failures.push(`call ${k}: no failure struck`);
                    continue;
                }
                mkdirSync(path.dirname(stateFile), { recursive: true });
                if (crash.state) writeFileSync(stateFile, crash.state);
                for (const key of ['vms', 'datapaths', 'started', 'added'] as const) {
                    (w[key] as Map<string, unknown>).clear();
                    for (const [a, b] of crash.world[key] as Map<string, unknown>) (w[key] as Map<string, unknown>).set(a, b);
                }
                w.reserved = crash.world.reserved;
                if (then === 'deploy') {
                    await rt.deploy(file).catch((e: Error) => failures.push(`call ${k}: the deploy after the crash failed: ${e.message}`));
                    if ([...w.vms.values()].some((s) => s !== 'running') || w.vms.size !== 2) failures.push(`call ${k}: after the crash and a deploy, guests ${[...w.vms]}`);
                }
                await rt.destroy(file).catch((e: Error) => failures.push(`call ${k}, then ${then}: destroy failed: ${e.message}`));
                const left = empty(w);
                if (left.length) failures.push(`call ${k}, then ${then}: destroy left ${left.join(', ')}`);
            }
        }
        expect(failures).toEqual([]);
    });
});
