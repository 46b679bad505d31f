/** HostFacts for the plan, gathered once per command. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { detectAccel } from '../backends/qemu/index.js';
import { parseCoreList } from '../language/units.js';
import type { HostFacts } from '../core/plan.js';

export const DEFAULT_RUN_ROOT = '/run/vtopo';

export function runRoot(): string {
    return path.resolve(process.env.VTOPO_RUN_ROOT || DEFAULT_RUN_ROOT);
}

function onlineCpus(): number[] | undefined {
    try {
        return parseCoreList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    } catch {
        return undefined;
    }
}

export function gatherHostFacts(sourceFile: string): HostFacts {
    const accel = detectAccel();
    const cpus = onlineCpus();
    return {
        runRoot: runRoot(),
        kvmUsable: accel.kvmUsable,
        ...(accel.reason ? { kvmReason: accel.reason } : {}),
        sourceFile: path.resolve(sourceFile),
        ...(cpus ? { onlineCpus: cpus } : {}),
        ...(process.env.VTOPO_OVSDB ? { defaultOvsdb: process.env.VTOPO_OVSDB } : {}),
    };
}
