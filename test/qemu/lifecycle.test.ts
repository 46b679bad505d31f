/**
 * Launcher, supervisor and vmStatus across a VM's life, each verdict read
 * by the same functions a fresh `vtopo status` uses. One short TCG boot
 * (no ports); the other cases never get as far as booting a kernel.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as qemu from '../../src/backends/qemu/index.js';
import { alive, readPidFile, waitGone } from '../../src/host/procs.js';
import { VtopoError } from '../../src/core/api.js';
import type { VmPlan } from '../../src/core/plan.js';
import { makeVm } from './fixtures.js';

const dir = mkdtempSync('/tmp/vtopo-ql-');
let image: { kernel: string; initrd: string };
const launched: VmPlan[] = [];

async function launch(vm: VmPlan) {
    launched.push(vm);
    return qemu.launchVm(vm, qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image)));
}

async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
    const end = Date.now() + ms;
    let v = await f();
    while (!ok(v) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        v = await f();
    }
    return v;
}

beforeAll(async () => {
    image = await qemu.ensureGuestImage();
}, 180_000);

afterAll(async () => {
    for (const vm of launched) await qemu.stopVm(vm, { timeoutMs: 3000 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('VM lifecycle', () => {
    it('a VM never launched is absent', async () => {
        expect(await qemu.vmStatus(makeVm({ dir, name: 'never' }))).toMatchObject({ name: 'never', state: 'absent' });
        await qemu.stopVm(makeVm({ dir, name: 'never' })); // nothing to stop: success
    });

    it('boots, is idempotent to launch twice, powers off cleanly on stop', async () => {
        const vm = makeVm({ dir, name: 'clean' });
        const { pid } = await launch(vm);
        expect(readPidFile(vm.pidFile)).toBe(pid);
        expect((await launch(vm)).pid).toBe(pid);
        await qemu.waitVmReady(vm, { timeoutMs: 120_000 });
        expect(await qemu.vmStatus(vm)).toMatchObject({ state: 'running', agent: 'ready', pid });
        await qemu.stopVm(vm);
        expect(alive(pid)).toBe(false);
        expect(await qemu.vmStatus(vm)).toMatchObject({ state: 'stopped', reason: 'stopped by vtopo' });
        // The guest answered the ACPI power button itself: no quit, no kill was needed.
        const ex = JSON.parse(readFileSync(qemu.vmFiles(vm).exit, 'utf8')) as qemu.ExitRecord;
        expect(ex).toMatchObject({ code: 0, signal: null, shutdown: { guest: true, reason: 'guest-shutdown' } });
        expect(existsSync(vm.qmpSocket)).toBe(false);
    }, 150_000);

    it('a guest that ignores the power button is quit once the wait is over', async () => {
        // A blank disk: the firmware finds nothing to boot and never answers ACPI.
        const disk = path.join(dir, 'blank.img');
        writeFileSync(disk, Buffer.alloc(1 << 20));
        const vm = makeVm({ dir, name: 'deaf', image: { kind: 'disk', path: disk } });
        const { pid } = await launch(vm);
        expect(await eventually(() => qemu.queryStatus(vm), (s) => s === 'running')).toBe('running');
        const t0 = Date.now();
        await qemu.stopVm(vm, { timeoutMs: 3000 });
        expect(alive(pid)).toBe(false);
        // The power button came first and was given its share of the timeout (60 %).
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1800);
        const ex = JSON.parse(readFileSync(qemu.vmFiles(vm).exit, 'utf8')) as qemu.ExitRecord;
        expect(ex).toMatchObject({ signal: null, shutdown: { guest: false, reason: 'host-qmp-quit' } });
        expect(await qemu.vmStatus(vm)).toMatchObject({ state: 'stopped', reason: 'stopped by vtopo' });
        expect(existsSync(vm.qmpSocket)).toBe(false);
    }, 30_000);

    it('QEMU killed from outside: crashed, killed by signal 9', async () => {
        const vm = makeVm({ dir, name: 'killed' });
        const { pid } = await launch(vm);
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 5000);
        const s = await eventually(() => qemu.vmStatus(vm), (v) => v.state === 'crashed');
        expect(s.state).toBe('crashed');
        expect(s.reason).toMatch(/killed by signal 9 \(SIGKILL\)/);
        await qemu.stopVm(vm); // already gone: success, verdict kept
        expect((await qemu.vmStatus(vm)).state).toBe('crashed');
    }, 30_000);

    it('QEMU refusing to start: launchVm throws quoting QEMU, vmStatus says crashed with the same words', async () => {
        const vm = makeVm({ dir, name: 'nodisk', image: { kind: 'disk', path: path.join(dir, 'missing.qcow2') } });
        const err = await launch(vm).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect((err as VtopoError).message).toMatch(/QEMU exited at start: qemu-system-x86_64: .*missing\.qcow2/);
        expect((err as VtopoError).fix).toContain(vm.qemuLog);
        const s = await qemu.vmStatus(vm);
        expect(s.state).toBe('crashed');
        expect(s.reason).toMatch(/exited with code 1.*missing\.qcow2/);
        expect(s.agent).toBeUndefined();
    }, 30_000);

    it('refuses to take over a socket another process serves, and leaves it alone', async () => {
        const vm = makeVm({ dir, name: 'taken' });
        const other = createServer(() => undefined).listen(vm.agentSocket);
        await once(other, 'listening');
        try {
            const err = await qemu.launchVm(vm, qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image))).then(() => undefined, (e: unknown) => e);
            expect(err).toBeInstanceOf(VtopoError);
            expect((err as VtopoError).message).toMatch(/vm-taken\.agent is in use by another process/);
            expect(existsSync(vm.agentSocket)).toBe(true);
            expect(readPidFile(vm.pidFile)).toBeUndefined();
        } finally {
            other.close();
        }
    });

    it('a missing QEMU binary is named, with what to install', async () => {
        const vm = makeVm({ dir, name: 'nobin' });
        launched.push(vm);
        const argv = qemu.buildQemuArgv(vm, qemu.resolveBootImage(vm, image), { qemuBinary: path.join(dir, 'no-such-qemu') });
        const err = await qemu.launchVm(vm, argv).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect((err as VtopoError).message).toMatch(/cannot start QEMU: .*ENOENT/);
        expect((err as VtopoError).fix).toMatch(/qemu-system-x86/);
        expect((await qemu.vmStatus(vm)).reason).toMatch(/cannot start QEMU/);
    }, 30_000);

    it('QEMU waiting for the switch (vhost client mode, no peer yet) is booting, and stops', async () => {
        const vm = makeVm({ dir, name: 'waiting' }, [{ socketPath: path.join(dir, 'waiting.eth0.sock') }]);
        const { pid } = await launch(vm);
        const s = await eventually(() => qemu.vmStatus(vm), (v) => /switch/.test(v.reason ?? ''), 5000);
        expect(s).toMatchObject({ state: 'booting', pid });
        expect(s.reason).toMatch(/waits for the switch/);
        await qemu.stopVm(vm, { timeoutMs: 3000 });
        expect(alive(pid)).toBe(false);
        expect((await qemu.vmStatus(vm)).state).toBe('stopped');
    }, 30_000);
});
