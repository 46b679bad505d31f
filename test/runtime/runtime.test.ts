import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/core/api.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { acquireLock } from '../../src/host/state.js';
import type { Status } from '../../src/core/status.js';
import { fakeWorld, type FakeWorld } from './fakes.js';

async function until(cond: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
    }
}
import { TWO } from './helpers.js';

let dir: string;
let file: string;
let w: FakeWorld;
let rt: ReturnType<typeof createRuntime>;

beforeEach(() => {
    dir = mkdtempSync('/tmp/vtrt-');
    file = path.join(dir, 't.vtopo');
    writeFileSync(file, TWO());
    w = fakeWorld(path.join(dir, 'run'));
    rt = createRuntime(w.deps);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime over fake backends', () => {
    it('deploys, persists the plan in a 0700 state dir, and a second deploy changes nothing', async () => {
        const r = await rt.deploy(file);
        expect(r.applied.map((a) => `${a.kind} ${a.target}`)).toContain('start-vm vm a');
        expect(r.status.vms.map((v) => [v.name, v.state])).toEqual([['a', 'running'], ['b', 'running']]);
        const runDir = path.join(dir, 'run', 't');
        expect(statSync(runDir).mode & 0o777).toBe(0o700);
        const state = JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8'));
        expect(state.deployed.topology).toBe('t');
        expect(state.pending).toBeUndefined();
        w.calls.length = 0;
        const again = await rt.deploy(file);
        expect(again.applied).toEqual([]);
        expect(w.calls).toEqual([]);
        expect((await rt.plan(file)).text).toMatch(/no changes/);
    });

    it('after an edit applies only the affected parts', async () => {
        await rt.deploy(file);
        writeFileSync(file, TWO('vm c { port eth0 { bridge br0  ip 10.0.0.3/24 } }', 2, 2));
        const p = await rt.plan(file);
        expect(p.actions.map((a) => a.target)).toEqual(['port a.eth0', 'vm a', 'vm a', 'vm c', 'port a.eth0', 'port c.eth0']);
        w.calls.length = 0;
        await rt.deploy(file);
        expect(w.calls).toEqual(['prepare-images', 'remove-port a.eth0', 'stop-vm a', 'start-vm a', 'start-vm c', 'add-port a.eth0', 'add-port c.eth0']);
    });

    it('refuses a second concurrent deploy and takes over a stale lock', async () => {
        await rt.deploy(file);
        const runDir = path.join(dir, 'run', 't');
        const lock = acquireLock(runDir, 't', 'deploy');
        try {
            const err = await rt.deploy(file).catch((e) => e);
            expect(err).toBeInstanceOf(VtopoError);
            expect(err.message).toMatch(/another vtopo deploy of topology t is running \(pid \d+\)/);
            expect(err.fix).toMatch(/kill/);
        } finally {
            lock.release();
        }
        // A lock of a process that is gone (pid 2^22-1 does not exist) does not block.
        writeFileSync(path.join(runDir, 'state', 'lock'), '4194303 12345 deploy\n');
        await expect(rt.deploy(file)).resolves.toBeDefined();
    });

    it('rolls a failed first deploy back completely and names the logs', async () => {
        w.failBoot = 'b';
        const err = await rt.deploy(file).catch((e) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect(err.message).toMatch(/vm b did not come up: QEMU exited/);
        expect(err.fix).toMatch(/qemu\.log/);
        expect(w.vms.size).toBe(0);
        expect(w.datapaths.size).toBe(0);
        expect(existsSync(path.join(dir, 'run', 't'))).toBe(false);
    });

    it('destroy stops everything, gives back hugepages and removes the run dir; twice is fine', async () => {
        writeFileSync(file, TWO().replace('poll-cores 1', 'poll-cores 1  hugepages 512M'));
        await rt.deploy(file);
        expect(w.reserved).toBe(256);
        await rt.destroy(file);
        expect(w.reserved).toBe(0);
        expect(w.vms.size).toBe(0);
        expect(w.datapaths.size).toBe(0);
        expect(existsSync(path.join(dir, 'run', 't'))).toBe(false);
        await rt.destroy(file);
        expect((await rt.status(file)).deployed).toBe(false);
    });

    it('a new hugepage count resizes the reservation without restarting the guests on it; destroy gives back the new count', async () => {
        writeFileSync(file, TWO().replace('poll-cores 1', 'poll-cores 1  hugepages 512M'));
        await rt.deploy(file);
        expect(w.reserved).toBe(256);
        w.calls.length = 0;
        writeFileSync(file, TWO().replace('poll-cores 1', 'poll-cores 1  hugepages 1G'));
        const plan = (await rt.plan(file)).text;
        expect(plan).toMatch(/~ resize-hugepages +hugepages 512 x 2M +256 → 512 pages/);
        expect(plan).toMatch(/0 to create\/start, 0 to remove\/stop, 1 to change in place/);
        await rt.deploy(file);
        expect(w.reserved).toBe(512);
        // Released and reserved again, the mount would go from under the running guests.
        expect(w.calls.filter((c) => /-vm |hugepages/.test(c))).toEqual(['resize-hugepages 256→512']);
        const state = JSON.parse(readFileSync(path.join(dir, 'run', 't', 'state', 'state.json'), 'utf8'));
        expect(state.hugepages.added).toBe(512);
        await rt.destroy(file);
        expect(w.reserved).toBe(0);
    });

    it('destroy works from a pending state left by a crashed deploy, even when the file has errors now', async () => {
        await rt.deploy(file);
        const runDir = path.join(dir, 'run', 't');
        const state = JSON.parse(readFileSync(path.join(runDir, 'state', 'state.json'), 'utf8'));
        writeFileSync(path.join(runDir, 'state', 'state.json'), JSON.stringify({ version: 1, pending: state.deployed }));
        writeFileSync(file, TWO().replace('bridge br0\n', 'bridge br0\n  vm x { port p { bridge nope } }\n'));
        await rt.destroy(file);
        expect(w.vms.size).toBe(0);
        expect(existsSync(runDir)).toBe(false);
    });

    it('status shows a crashed guest, and verify reports the failing pairs', async () => {
        await rt.deploy(file);
        w.vms.set('b', 'crashed');
        const s = await rt.status(file);
        expect(s.vms.find((v) => v.name === 'b')?.state).toBe('crashed');
        expect(s.ports.find((p) => p.id === 'b.eth0')?.link).toBe('down');
        const v = await rt.verify(file);
        expect(v.pairs).toEqual([
            { from: 'a', to: 'b', ok: true, rtt_ms: 0.5 },
            { from: 'b', to: 'a', ok: false, rtt_ms: 0.5 },
        ]);
        // The next deploy brings the crashed guest back.
        const r = await rt.deploy(file);
        expect(r.applied.map((a) => `${a.kind} ${a.target}`)).toEqual(['remove-port port b.eth0', 'stop-vm vm b', 'start-vm vm b', 'add-port port b.eth0']);
    });

    it('refuses a file with errors before touching anything', async () => {
        writeFileSync(file, 'topology t { vm a { port p { bridge nope } } }');
        const err = await rt.deploy(file).catch((e) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect(err.message).toMatch(/error\(s\); nothing was changed/);
        expect(w.calls).toEqual([]);
    });

    it('watch wakes at once on a datapath event and carries its stuck-down sentence until the link is up', async () => {
        await rt.deploy(file);
        const seen: { s: Status }[] = [];
        // Polling off (once a minute): only the pushed event can bring the change.
        const h = rt.watch(file, (s) => seen.push({ s }), 60_000, 60_000);
        try {
            await until(() => seen.length > 0 && w.subscribers > 0);
            w.vms.set('a', 'crashed');
            w.emit({ id: 'a.eth0', kind: 'stuck-down', message: 'a.eth0 has been down for 30 s: no VM connected' });
            await until(() => seen.some((x) => x.s.vms[0].state === 'crashed'));
            const hit = seen.find((x) => x.s.vms[0].state === 'crashed')!;
            expect(hit.s.ports.find((p) => p.id === 'a.eth0')).toMatchObject({ link: 'down', error: 'a.eth0 has been down for 30 s: no VM connected' });
            w.vms.set('a', 'running');
            w.emit({ id: 'a.eth0', kind: 'link' });
            await until(() => seen.at(-1)!.s.vms[0].state === 'running');
            expect(seen.at(-1)!.s.ports.find((p) => p.id === 'a.eth0')).toMatchObject({ link: 'up' });
            expect(seen.at(-1)!.s.ports.find((p) => p.id === 'a.eth0')!.error).toBeUndefined();
        } finally {
            h.close();
        }
        expect(w.subscribers).toBe(0);
    });

    it('watch pushes the status and stops when closed', async () => {
        await rt.deploy(file);
        const seen: string[] = [];
        const h = rt.watch(file, (s) => seen.push(s.vms.map((v) => v.state).join(',')), 50);
        await new Promise((r) => setTimeout(r, 200));
        w.vms.set('a', 'crashed');
        await new Promise((r) => setTimeout(r, 300));
        h.close();
        expect(seen[0]).toBe('running,running');
        expect(seen).toContain('crashed,running');
    });
});
