/** Turning QEMU's and the guest's own words into reasons a user can act on. */
import { constants } from 'node:os';
import type { VmPlan } from '../../core/plan.js';
import { readText } from './files.js';

/** QEMU's own error lines ("qemu-system-x86_64: …") from its log, last first-most-relevant. */
export function qemuMessage(vm: VmPlan): string | undefined {
    const lines = readText(vm.qemuLog).split('\n').map((l) => l.trim()).filter(Boolean);
    const own = lines.filter((l) => /^qemu-system-[\w-]+:/.test(l) && !/terminating on signal|warning:/i.test(l));
    const pick = own.length ? own : lines.filter((l) => !/warning:/i.test(l));
    return pick.length ? pick.slice(-3).join(' | ') : undefined;
}

/** The kernel's panic line from the serial log, e.g. "Kernel panic - not syncing: sysrq triggered crash". */
export function panicLine(vm: VmPlan): string | undefined {
    const m = /Kernel panic - not syncing:[^\r\n]*/.exec(readText(vm.serialLog));
    return m?.[0].trim();
}

export function signalNumber(name: string): number | undefined {
    return (constants.signals as Record<string, number>)[name];
}

export function serialTail(vm: VmPlan, n = 5): string {
    return readText(vm.serialLog).split('\n').map((l) => l.replace(/\x1b\[[0-9;]*[a-zA-Z]/g, '').trim()).filter(Boolean).slice(-n).join(' | ');
}
