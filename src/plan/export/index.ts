/** `vtopo export` formats over a Plan. Pure. */
import type { Plan, VmPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { exportLibvirt } from './libvirt.js';
import { exportOvsVsctl } from './ovs-vsctl.js';
import { exportQemu } from './qemu.js';

export const EXPORT_FORMATS = ['ovs-vsctl', 'qemu', 'libvirt'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
    /** The QEMU argv of a VM (src/backends/qemu buildQemuArgv through the runtime). */
    argv: (vm: VmPlan) => string[];
    /** Only this VM (qemu, libvirt). */
    vm?: string;
    /** A built default guest image to name instead of placeholders. */
    guest?: { kernel: string; initrd: string };
    /** Kernel command line of the default image for a VM (libvirt). */
    cmdline?: (vm: VmPlan) => string;
}

export function exportPlan(plan: Plan, format: ExportFormat, opts: ExportOptions): string {
    if (opts.vm && !plan.vms.some((v) => v.name === opts.vm)) {
        throw new VtopoError(`topology ${plan.topology} has no vm ${opts.vm}`, `name one of: ${plan.vms.map((v) => v.name).join(', ')}`, 'no-such-vm');
    }
    switch (format) {
        case 'ovs-vsctl': return exportOvsVsctl(plan);
        case 'qemu': return exportQemu(opts.vm ? { ...plan, vms: plan.vms.filter((v) => v.name === opts.vm) } : plan, opts.argv, opts.guest);
        case 'libvirt': return exportLibvirt(plan, opts);
        default:
            throw new VtopoError(`unknown export format '${String(format)}'`, `use one of: ${EXPORT_FORMATS.join(', ')}`, 'bad-format');
    }
}
