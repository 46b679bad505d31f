/**
 * Start, wait for, and stop a VM. Everything is found again from the plan
 * (pidfile, sockets, the supervisor's files), so each call works from a
 * fresh process and after any crash.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import type { VmPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { alive, isOurs, readPidFile, sleep, terminate, waitGone } from '../../host/procs.js';
import { selfExecArgv } from '../../host/self-exec.js';
import { agentHello } from './agent.js';
import { readJson, readText, vmFiles, writeAtomic, type ExitRecord } from './files.js';
import { qemuMessage, serialTail } from './messages.js';
import { QmpClient } from './qmp.js';
import type { LaunchSpec } from './supervisor.js';

/** Lines /init prints on the serial console (guest/rootfs/init). */
export const READY_MARKER = 'VTOPO-READY';
export const FAILED_MARKER = 'VTOPO-FAILED';

export function hasAgent(vm: VmPlan): boolean {
    return vm.image.kind === 'default';
}

function qemuAlive(vm: VmPlan): number | undefined {
    const pid = readPidFile(vm.pidFile);
    return pid && alive(pid) && isOurs(pid, vm.qmpSocket) ? pid : undefined;
}

function exitedError(vm: VmPlan, during: string): VtopoError {
    const spawnError = readJson<ExitRecord>(vmFiles(vm).exit)?.spawnError;
    if (spawnError) {
        return new VtopoError(
            `vm ${vm.name}: cannot start QEMU: ${spawnError}`,
            'install QEMU (apt-get install qemu-system-x86) or point VTOPO_QEMU at a qemu-system-x86_64 binary',
        );
    }
    const msg = qemuMessage(vm);
    return new VtopoError(
        `vm ${vm.name}: QEMU exited ${during}${msg ? `: ${msg}` : ''}`,
        `read ${vm.qemuLog} (QEMU) and ${vm.serialLog} (guest console); fix the cause named there and deploy again`,
    );
}

export async function launchVm(vm: VmPlan, argv: string[]): Promise<{ pid: number }> {
    const running = qemuAlive(vm);
    if (running) return { pid: running };
    const f = vmFiles(vm);
    for (const p of [vm.pidFile, vm.qemuLog, vm.serialLog, vm.qmpSocket, vm.agentSocket, vm.consoleSocket]) {
        mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    }
    // QEMU unlinks a socket path before binding it: never let it steal one that someone still serves.
    for (const s of [vm.qmpSocket, vm.agentSocket, vm.consoleSocket, f.supervisorQmp, f.execSocket]) {
        if (existsSync(s) && (await socketAnswers(s))) {
            throw new VtopoError(
                `vm ${vm.name}: ${s} is in use by another process`,
                `stop whatever serves it (another vtopo deploy of this topology? \`vtopo destroy\` it), or remove the file if it is stale`,
            );
        }
    }
    for (const p of [vm.pidFile, f.exit, f.stopRequested, f.events, f.supervisorQmp, vm.qmpSocket, vm.agentSocket, vm.consoleSocket, f.execSocket]) {
        rmSync(p, { force: true });
    }
    // The supervisor's private monitor comes first so it exists before any
    // server=on vhost-user chardev makes QEMU wait for the switch.
    const full = [argv[0], '-qmp', `unix:${f.supervisorQmp},server=on,wait=off`, ...argv.slice(1)];
    writeAtomic(f.spec, JSON.stringify({ vm, argv: full } satisfies LaunchSpec, null, 2) + '\n');
    const [node, ...pre] = selfExecArgv();
    const out = openSync(f.supervisorLog, 'w');
    const sup = spawn(node, [...pre, 'vm-supervise', f.spec], { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    sup.unref();
    let supExited = false;
    sup.on('exit', () => { supExited = true; });

    const end = Date.now() + 20_000;
    while (Date.now() < end) {
        const pid = readPidFile(vm.pidFile);
        if (existsSync(f.exit)) throw exitedError(vm, 'at start');
        if (pid && alive(pid)) {
            // Argument errors (a missing disk…) make QEMU exit within a few ms on an idle host, but took
            // over 500 ms with the host's two cores saturated: report them here, not as a boot timeout.
            const settle = Date.now() + 1500;
            while (Date.now() < settle) {
                if (existsSync(f.exit) || !alive(pid)) {
                    await waitFor(() => existsSync(f.exit), 2000);
                    throw exitedError(vm, 'at start');
                }
                await sleep(50);
            }
            return { pid };
        }
        if (supExited && !existsSync(f.exit)) {
            throw new VtopoError(
                `vm ${vm.name}: the supervisor exited before starting QEMU: ${readText(f.supervisorLog).trim().split('\n').slice(-3).join(' | ')}`,
                `read ${f.supervisorLog}`,
            );
        }
        await sleep(50);
    }
    throw new VtopoError(`vm ${vm.name}: QEMU did not start within 20 s`, `read ${f.supervisorLog} and ${vm.qemuLog}`);
}

function socketAnswers(p: string, timeoutMs = 500): Promise<boolean> {
    return new Promise((resolve) => {
        const c = connect(p);
        const done = (v: boolean) => { clearTimeout(t); c.destroy(); resolve(v); };
        const t = setTimeout(() => done(true), timeoutMs); // accepted but silent still means someone is there
        c.on('connect', () => done(true));
        c.on('error', () => done(false));
    });
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (cond()) return true;
        await sleep(50);
    }
    return cond();
}

export async function waitVmReady(vm: VmPlan, opts: { timeoutMs?: number; onProgress?: (msg: string) => void } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 180_000;
    const end = Date.now() + timeoutMs;
    let said = '';
    const say = (m: string) => { if (m !== said) { said = m; opts.onProgress?.(m); } };
    let lastQmp = 0;
    while (Date.now() < end) {
        if (!qemuAlive(vm)) {
            await waitFor(() => existsSync(vmFiles(vm).exit), 2000);
            throw exitedError(vm, 'while booting');
        }
        const serial = readText(vm.serialLog);
        if (serial.includes(FAILED_MARKER)) {
            const line = serial.split('\n').find((l) => l.includes(FAILED_MARKER))!.trim();
            throw new VtopoError(`vm ${vm.name}: the guest could not set up its ports: ${line}`, `read ${vm.serialLog}: a MAC in the plan matched no NIC the guest saw`);
        }
        if (hasAgent(vm)) {
            if (serial.includes(READY_MARKER)) {
                say('guest up, asking its agent');
                try {
                    const h = await agentHello(vm, 3000);
                    if (h.ok) return;
                } catch { /* the agent restarts its loop every few hundred ms: ask again */ }
            } else if (serial.trim()) say('guest kernel booting');
            else if (/waiting for connection/i.test(readText(vm.qemuLog))) say('QEMU waits for the switch to connect to its vhost-user socket');
            else say('QEMU starting');
        } else if (Date.now() - lastQmp > 1000) {
            lastQmp = Date.now();
            const st = await queryStatus(vm, 1500);
            if (st === 'running') return;
            say(st ? `QEMU status ${st}` : 'QEMU starting (no QMP answer yet)');
        }
        await sleep(250);
    }
    throw new VtopoError(
        `vm ${vm.name}: not ready after ${Math.round(timeoutMs / 1000)} s (${said || 'no progress'}); last console lines: ${serialTail(vm) || '(none)'}`,
        `read ${vm.serialLog} and ${vm.qemuLog}; under TCG a guest boots in tens of seconds: a busy-polling datapath on the same cores slows it down`,
    );
}

/** query-status over the plan's QMP socket, undefined when QEMU does not answer. */
export async function queryStatus(vm: VmPlan, timeoutMs = 1500): Promise<string | undefined> {
    let q: QmpClient | undefined;
    try {
        q = await QmpClient.connect(vm.qmpSocket, { timeoutMs });
        return (await q.queryStatus()).status;
    } catch {
        return undefined;
    } finally {
        q?.close();
    }
}

export async function stopVm(vm: VmPlan, opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const f = vmFiles(vm);
    const pid = qemuAlive(vm);
    if (pid) {
        writeAtomic(f.stopRequested, new Date().toISOString() + '\n');
        let q: QmpClient | undefined;
        try {
            q = await QmpClient.connect(vm.qmpSocket, { timeoutMs: 2000 });
            // A paused or panicked guest cannot answer the power button.
            const st = (await q.queryStatus()).status;
            if (st === 'running') {
                await q.execute('system_powerdown');
                if (await waitGone(pid, Math.round(timeoutMs * 0.6))) return finish(vm);
            }
            await q.execute('quit').catch(() => undefined);
            if (await waitGone(pid, 3000)) return finish(vm);
        } catch {
            // No QMP (e.g. still waiting for the switch): signals below.
        } finally {
            q?.close();
        }
        await terminate(pid, vm.qmpSocket, 2000);
    }
    return finish(vm);
}

/** Lets the supervisor record the exit, then removes what QEMU leaves behind. */
async function finish(vm: VmPlan): Promise<void> {
    const f = vmFiles(vm);
    const sup = readPidFile(f.supervisorPid);
    if (sup && isOurs(sup, f.spec)) {
        if (!(await waitGone(sup, 3000))) await terminate(sup, f.spec, 1000);
    }
    for (const p of [vm.qmpSocket, vm.agentSocket, vm.consoleSocket, f.supervisorQmp, f.execSocket]) rmSync(p, { force: true });
}
