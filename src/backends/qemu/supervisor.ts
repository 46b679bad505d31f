/**
 * The per-VM supervisor (`vtopo vm-supervise SPEC`): a small detached process
 * that owns QEMU as its child, so that QEMU's exit code or killing signal and
 * its last QMP events (GUEST_PANICKED, SHUTDOWN) are recorded in files a
 * fresh `vtopo status` can read after the fact. It also pins vCPU threads.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, appendFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { VmPlan } from '../../core/plan.js';
import type { GuestRxFilter } from '../../core/status.js';
import { alive, sleep } from '../../host/procs.js';
import { readJson, vmFiles, writeAtomic, type ExitRecord } from './files.js';
import { QmpClient, type QmpEvent } from './qmp.js';

export interface LaunchSpec {
    vm: VmPlan;
    argv: string[];
}

/** QEMU's umask: sockets 0600, files 0600. */
const QEMU_UMASK = 0o177;

const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

export async function supervise(specPath: string): Promise<number> {
    const spec = readJson<LaunchSpec>(specPath);
    if (!spec) {
        log(`cannot read launch spec ${specPath}`);
        return 2;
    }
    const { vm, argv } = spec;
    // Owner-only files for everything this process writes.
    process.umask(0o077);
    const f = vmFiles(vm);
    writeAtomic(f.supervisorPid, String(process.pid));
    for (const old of [f.exit, f.events, f.rxFilter, f.warnings]) rmSync(old, { force: true });
    // Our own exit must not depend on who signals the group: the exit record is the point.
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => log(`ignoring ${s}: waiting for QEMU to exit`));

    const out = openSync(vm.qemuLog, 'w');
    // QEMU binds its QMP, console, agent and vhost-user sockets with plain
    // bind(2), i.e. 0777 minus the umask (0755 under the usual 022). 0177
    // makes them 0600; QEMU creates files (console log) but no directories.
    process.umask(QEMU_UMASK);
    let child;
    try {
        child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
    } finally {
        process.umask(0o077);
        closeSync(out);
    }
    const record: ExitRecord = { pid: child.pid ?? 0, code: null, signal: null, at: '', panicked: false };
    const exited = new Promise<void>((resolve) => {
        child.on('error', (e) => { record.spawnError = e.message; resolve(); });
        child.on('exit', (code, signal) => { record.code = code; record.signal = signal; resolve(); });
    });
    if (child.pid) {
        writeAtomic(vm.pidFile, String(child.pid));
        log(`qemu pid ${child.pid}`);
    }

    const onEvent = (e: QmpEvent) => {
        // The run directory may vanish under us (destroy): keep supervising regardless.
        try { appendFileSync(f.events, JSON.stringify(e) + '\n'); } catch { /* gone */ }
        if (e.event === 'GUEST_PANICKED') record.panicked = true;
        if (e.event === 'SHUTDOWN') record.shutdown = e.data as ExitRecord['shutdown'];
        // QEMU stays silent about further changes of this NIC until someone asks.
        if (e.event === 'NIC_RX_FILTER_CHANGED') void rx.refresh((e.data as { name?: string } | undefined)?.name);
        log(`event ${e.event} ${JSON.stringify(e.data ?? {})}`);
    };
    let qmp: QmpClient | undefined;
    const rx = rxFilterRecorder(() => qmp, f.rxFilter);
    let over = false;
    exited.then(() => { over = true; });
    const watch = (async () => {
        // QEMU holds its monitors silent while a server=on vhost-user socket
        // waits for the switch: keep retrying until it answers or exits.
        while (!over && child.pid && alive(child.pid)) {
            try {
                qmp = await QmpClient.connect(f.supervisorQmp, { timeoutMs: 5000 });
                break;
            } catch {
                await sleep(200);
            }
        }
        if (!qmp) return;
        qmp.on('event', onEvent);
        log('qmp connected');
        // Changes before we connected raised events nobody saw: read every NIC once.
        await rx.refresh(undefined);
        if (vm.pin?.length) {
            await pinVcpus(qmp, vm.pin).catch((e) => {
                const w = `vCPU pinning failed: ${(e as Error).message}`;
                log(w);
                try { writeAtomic(f.warnings, JSON.stringify([w]) + '\n'); } catch { /* run dir gone */ }
            });
        }
    })();

    await exited;
    // QMP events precede the exit; give the socket a moment to deliver the last ones.
    await Promise.race([watch, sleep(1000)]);
    await sleep(100);
    qmp?.close();
    record.at = new Date().toISOString();
    try {
        writeAtomic(f.exit, JSON.stringify(record) + '\n');
    } catch (e) {
        log(`cannot record the exit in ${f.exit}: ${(e as Error).message}`);
    }
    rmSync(f.supervisorQmp, { force: true });
    log(`qemu exited: code ${record.code} signal ${record.signal}${record.panicked ? ' (guest panicked)' : ''}`);
    return 0;
}

const run = promisify(execFile);

interface QmpRxFilter {
    name: string;
    promiscuous: boolean;
    multicast: string;
    unicast: string;
    'main-mac': string;
    'unicast-table': string[];
    'multicast-table': string[];
}

/** Keeps `file` = { nic: { mac, promiscuous, ... } } current from query-rx-filter. */
function rxFilterRecorder(qmp: () => QmpClient | undefined, file: string): { refresh(name: string | undefined): Promise<void> } {
    const filters: Record<string, GuestRxFilter> = {};
    return {
        async refresh(name) {
            const q = qmp();
            if (!q) return;
            try {
                const list = await q.execute<QmpRxFilter[]>('query-rx-filter', name ? { name } : undefined);
                for (const r of list) {
                    filters[r.name] = {
                        mac: r['main-mac'], promiscuous: r.promiscuous, multicast: r.multicast, unicast: r.unicast,
                        unicast_table: r['unicast-table'], multicast_table: r['multicast-table'],
                    };
                }
                writeAtomic(file, JSON.stringify(filters) + '\n');
            } catch (e) {
                log(`query-rx-filter${name ? ` ${name}` : ''} failed: ${(e as Error).message}`);
            }
        },
    };
}

/** vCPU i → host core pin[i % pin.length]; QEMU has no command-line option for this. */
async function pinVcpus(qmp: QmpClient, pin: number[]): Promise<void> {
    const cpus = await qmp.execute<Array<{ 'cpu-index': number; 'thread-id': number }>>('query-cpus-fast');
    for (const c of cpus) {
        const core = pin[c['cpu-index'] % pin.length];
        await run('taskset', ['-pc', String(core), String(c['thread-id'])]);
        log(`vCPU ${c['cpu-index']} (thread ${c['thread-id']}) pinned to core ${core}`);
    }
}
