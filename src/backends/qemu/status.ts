/** vmStatus: what a fresh process can tell about a VM from the plan alone. */
import { existsSync } from 'node:fs';
import type { VmPlan } from '../../core/plan.js';
import type { GuestRxFilter, VmStatus } from '../../core/status.js';
import { alive, isOurs, readPidFile } from '../../host/procs.js';
import { agentHello } from './agent.js';
import { readJson, readText, vmFiles, type ExitRecord } from './files.js';
import { FAILED_MARKER, hasAgent, queryStatus, READY_MARKER } from './launcher.js';
import { panicLine, qemuMessage, signalNumber } from './messages.js';

export async function vmStatus(vm: VmPlan): Promise<VmStatus> {
    const f = vmFiles(vm);
    const pid = readPidFile(vm.pidFile);
    const agentKind = hasAgent(vm);
    if (pid && alive(pid) && isOurs(pid, vm.qmpSocket)) {
        const rxFilters = readJson<Record<string, GuestRxFilter>>(f.rxFilter);
        const warnings = readJson<string[]>(f.warnings);
        const base: VmStatus = {
            name: vm.name, state: 'running', accel: vm.accel, pid, agent: agentKind ? 'unavailable' : 'absent',
            ...(rxFilters ? { rx_filters: rxFilters } : {}), ...(warnings?.length ? { warnings } : {}),
        };
        const st = await queryStatus(vm, 1500);
        if (st === 'guest-panicked') return { ...base, state: 'crashed', reason: panicReason(vm) };
        if (!st) {
            const waiting = /waiting for connection/i.test(readText(vm.qemuLog));
            return { ...base, state: 'booting', reason: waiting ? 'QEMU waits for the switch to connect to its vhost-user socket' : 'QEMU does not answer on QMP yet' };
        }
        if (st === 'paused' || st === 'shutdown') return { ...base, state: 'stopped', reason: `QEMU status ${st}` };
        if (st !== 'running') return { ...base, state: 'booting', reason: `QEMU status ${st}` };
        if (!agentKind) return { ...base, reason: 'user image: no vtopo agent in the guest' };
        const serial = readText(vm.serialLog);
        if (serial.includes(FAILED_MARKER)) return { ...base, state: 'crashed', reason: serial.split('\n').find((l) => l.includes(FAILED_MARKER))!.trim() };
        if (!serial.includes(READY_MARKER)) return { ...base, state: 'booting', reason: serial.trim() ? 'guest kernel booting' : 'firmware starting' };
        try {
            const h = await agentHello(vm, 3000);
            return { ...base, agent: h.ok ? 'ready' : 'unavailable' };
        } catch (e) {
            return { ...base, agent: 'unavailable', reason: (e as Error).message };
        }
    }
    const ex = readJson<ExitRecord>(f.exit);
    if (!ex) {
        if (!pid && !existsSync(f.spec)) return { name: vm.name, state: 'absent', accel: vm.accel };
        if (existsSync(f.stopRequested)) return { name: vm.name, state: 'stopped', accel: vm.accel, reason: 'stopped by vtopo' };
        const sup = readPidFile(f.supervisorPid);
        if (sup && alive(sup) && isOurs(sup, f.spec)) {
            return { name: vm.name, state: 'booting', accel: vm.accel, reason: 'starting QEMU' };
        }
        return {
            name: vm.name, state: 'crashed', accel: vm.accel, ...(pid ? { pid } : {}),
            reason: `QEMU${pid ? ` (pid ${pid})` : ''} is gone and its supervisor left no exit record (both killed?)${qemuTail(vm)}`,
        };
    }
    const { state, reason } = classifyExit(vm, ex, existsSync(f.stopRequested));
    return { name: vm.name, state, accel: vm.accel, pid: ex.pid, reason };
}

const qemuTail = (vm: VmPlan) => {
    const m = qemuMessage(vm);
    return m ? `; QEMU said: ${m}` : '';
};

function panicReason(vm: VmPlan): string {
    const line = panicLine(vm);
    return `guest panicked (pvpanic)${line ? `: ${line}` : ''}`;
}

export function classifyExit(vm: VmPlan, ex: ExitRecord, stopRequested: boolean): { state: 'stopped' | 'crashed'; reason: string } {
    if (ex.spawnError) return { state: 'crashed', reason: `cannot start QEMU: ${ex.spawnError}` };
    if (ex.panicked || ex.shutdown?.reason === 'guest-panic') return { state: 'crashed', reason: panicReason(vm) };
    if (stopRequested) return { state: 'stopped', reason: 'stopped by vtopo' };
    if (ex.signal) {
        const n = signalNumber(ex.signal);
        return { state: 'crashed', reason: `QEMU killed by signal ${n ?? '?'} (${ex.signal})${qemuTail(vm)}` };
    }
    if (ex.code !== 0) return { state: 'crashed', reason: `QEMU exited with code ${ex.code}${qemuTail(vm)}` };
    switch (ex.shutdown?.reason) {
        case 'guest-shutdown':
            return { state: 'stopped', reason: 'the guest powered off' };
        case 'guest-reset': {
            const line = panicLine(vm);
            return line ? { state: 'crashed', reason: `guest kernel panic: ${line}` } : { state: 'stopped', reason: 'the guest rebooted (QEMU runs with -no-reboot)' };
        }
        case 'host-signal':
            return { state: 'crashed', reason: `QEMU was terminated by a signal from outside vtopo${qemuTail(vm)}` };
        case 'host-qmp-quit':
            return { state: 'stopped', reason: 'quit over QMP' };
        default:
            return { state: 'stopped', reason: `QEMU exited${ex.shutdown?.reason ? ` (${ex.shutdown.reason})` : ''}` };
    }
}
