/**
 * Files kept next to a VM's pidfile so that any fresh process can tell what
 * happened to it: the supervisor writes them, status/stop read them.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { VmPlan } from '../../core/plan.js';

export interface VmFiles {
    /** The launch spec handed to `vtopo vm-supervise`. */
    spec: string;
    supervisorPid: string;
    supervisorLog: string;
    /** The supervisor's own QMP monitor (the plan's qmpSocket stays free for status/stop). */
    supervisorQmp: string;
    /** QMP events, one JSON per line, as the supervisor saw them. */
    events: string;
    /** Written once QEMU is gone: exit code/signal and what the guest did last. */
    exit: string;
    /** Written by stopVm before it stops QEMU, so a signal exit reads as "stopped". */
    stopRequested: string;
    /** The guest's receive filters per NIC (query-rx-filter after NIC_RX_FILTER_CHANGED). */
    rxFilter: string;
    /** What the supervisor could not do (vCPU pinning), for status to show. */
    warnings: string;
    /** The agent's exec channel (virtio-serial vtopo.exec). */
    execSocket: string;
    /** Held by the one `vtopo console` attached to the guest. */
    consoleLock: string;
}

export function vmFiles(vm: VmPlan): VmFiles {
    const base = vm.pidFile.replace(/\.pid$/, '');
    return {
        spec: `${base}.launch.json`,
        supervisorPid: `${base}.supervisor.pid`,
        supervisorLog: `${base}.supervisor.log`,
        supervisorQmp: `${base}.sup.qmp`,
        events: `${base}.events.jsonl`,
        exit: `${base}.exit.json`,
        stopRequested: `${base}.stop-requested`,
        rxFilter: `${base}.rx-filter.json`,
        warnings: `${base}.warnings.json`,
        execSocket: `${base}.exec.sock`,
        consoleLock: `${base}.console.lock`,
    };
}

export interface ExitRecord {
    pid: number;
    code: number | null;
    signal: string | null;
    at: string;
    /** GUEST_PANICKED seen on QMP. */
    panicked: boolean;
    /** Last SHUTDOWN event's data (guest: boolean, reason: string). */
    shutdown?: { guest?: boolean; reason?: string };
    /** QEMU failed to start (spawn error). */
    spawnError?: string;
}

export function writeAtomic(file: string, data: string): void {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
    try {
        return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
        return undefined;
    }
}

export function readText(file: string): string {
    try {
        return readFileSync(file, 'utf8');
    } catch {
        return '';
    }
}
