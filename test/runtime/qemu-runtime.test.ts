/**
 * The runtime with the real QEMU layer, on guests without ports (no
 * datapath needed): deploy/status/crash/destroy, and the failure paths a
 * user meets — a guest that exits at boot, QEMU missing, a socket in use,
 * the deploying process killed -9 — each leaving nothing behind.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGuestImage } from '../../src/backends/qemu/index.js';
import { VtopoError } from '../../src/core/api.js';
import { alive, readPidFile, sleep } from '../../src/host/procs.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { realDeps } from '../../src/runtime/index.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { leftovers } from './leaks.js';

const root = mkdtempSync('/tmp/vtq-');
const runRoot = path.join(root, 'run');
const prevRoot = process.env.VTOPO_RUN_ROOT;
process.env.VTOPO_RUN_ROOT = runRoot;
const rt = createRuntime(realDeps());

function topo(name: string, vm: string): string {
    const file = path.join(root, `${name}.vtopo`);
    writeFileSync(file, `topology ${name} {\n  host { cores 0-1  memory 2G }\n  ${vm}\n}\n`);
    return file;
}

beforeAll(async () => {
    await ensureGuestImage();
}, 600_000);

afterAll(async () => {
    for (const name of ['solo', 'bad', 'noqemu', 'busy', 'killed']) {
        await rt.destroy(path.join(root, `${name}.vtopo`)).catch(() => undefined);
    }
    if (prevRoot === undefined) delete process.env.VTOPO_RUN_ROOT; else process.env.VTOPO_RUN_ROOT = prevRoot;
    rmSync(root, { recursive: true, force: true });
    rmSync(path.join(os.tmpdir(), 'vtopo-failed-bad'), { recursive: true, force: true });
}, 60_000);

describe('runtime with real QEMU (TCG), guests without ports', () => {
    it('deploys, is idempotent, shows a guest killed -9 as crashed, destroys without leftovers', async () => {
        const file = topo('solo', 'vm solo { memory 256M }');
        const steps: string[] = [];
        const r = await rt.deploy(file, { onProgress: (e) => steps.push(`${e.step}:${e.phase}`) });
        expect(r.applied.map((a) => a.kind)).toEqual(['start-vm']);
        expect(steps).toContain('ready:done');
        expect(r.status.vms[0]).toMatchObject({ name: 'solo', state: 'running', accel: 'tcg' });
        const pid = r.status.vms[0].pid!;
        expect(alive(pid)).toBe(true);

        expect((await rt.deploy(file)).applied).toEqual([]);

        process.kill(pid, 'SIGKILL');
        let state = '';
        for (let i = 0; i < 40 && state !== 'crashed'; i++) {
            await sleep(250);
            state = (await rt.status(file)).vms[0].state;
        }
        expect(state).toBe('crashed');

        await rt.destroy(file);
        expect(leftovers(path.join(runRoot, 'solo'))).toEqual([]);
    }, 240_000);

    it('a guest whose QEMU exits at boot fails the deploy with the cause and leaves nothing', async () => {
        const bogus = path.join(root, 'not-a-kernel');
        writeFileSync(bogus, 'this is not a kernel\n');
        const file = topo('bad', `vm bad { image kernel "${bogus}" }`);
        const err = await rt.deploy(file).catch((e) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect(err.message).toMatch(/vm bad/);
        expect(err.message).toMatch(/QEMU exited/);
        expect(err.fix).toMatch(/vtopo-failed-bad\/vm\/bad\.qemu\.log/);
        expect(leftovers(path.join(runRoot, 'bad'))).toEqual([]);
    }, 120_000);

    it('refuses when QEMU is missing, naming the package', async () => {
        const file = topo('noqemu', 'vm q { }');
        process.env.VTOPO_QEMU = '/nonexistent/qemu-system-x86_64';
        try {
            const err = await rt.deploy(file).catch((e) => e);
            expect(err).toBeInstanceOf(VtopoError);
            expect(err.message).toMatch(/QEMU is not installed/);
            expect(err.fix).toMatch(/apt-get install qemu-system-x86/);
        } finally {
            delete process.env.VTOPO_QEMU;
        }
        expect(leftovers(path.join(runRoot, 'noqemu'))).toEqual([]);
    });

    it('refuses when another process listens on a socket the guest needs', async () => {
        const file = topo('busy', 'vm q { }');
        const qmp = path.join(runRoot, 'busy', 'vm', 'q.qmp');
        mkdirSync(path.dirname(qmp), { recursive: true });
        const server = net.createServer().listen(qmp);
        await new Promise((r) => server.once('listening', r));
        try {
            const err = await rt.deploy(file).catch((e) => e);
            expect(err).toBeInstanceOf(VtopoError);
            expect(err.message).toMatch(/QMP socket of vm q is in use by another process/);
            expect(err.fix).toMatch(/destroy/);
        } finally {
            server.close();
        }
        rmSync(path.join(runRoot, 'busy'), { recursive: true, force: true });
    });

    it('destroy after the deploying process is killed -9 mid-deploy removes the guest it started', async () => {
        const file = topo('killed', 'vm k { }');
        const [node, ...pre] = selfExecArgv();
        const child = spawn(node, [...pre, 'deploy', file], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot }, stdio: 'ignore', detached: true });
        const pidFile = path.join(runRoot, 'killed', 'vm', 'k.pid');
        let qemuPid: number | undefined;
        try {
            for (let i = 0; i < 600 && !qemuPid; i++) {
                await sleep(100);
                const p = readPidFile(pidFile);
                if (p && alive(p)) qemuPid = p;
            }
            expect(qemuPid, 'QEMU was launched by the child deploy').toBeDefined();
        } finally {
            try { process.kill(child.pid!, 'SIGKILL'); } catch { /* already gone */ }
        }
        await sleep(200);
        expect(alive(qemuPid!)).toBe(true); // the guest outlives its deployer
        const steps: string[] = [];
        await rt.destroy(file, { onProgress: (e) => steps.push(e.message) });
        expect(alive(qemuPid!)).toBe(false);
        expect(leftovers(path.join(runRoot, 'killed'))).toEqual([]);
    }, 120_000);
});
