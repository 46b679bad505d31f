/** The QEMU command line of every VM, as a shell script. */
import type { Plan, VmPlan } from '../../core/plan.js';
import { formatCommand, shq } from './shell.js';

export function exportQemu(plan: Plan, argv: (vm: VmPlan) => string[], guest?: { kernel: string; initrd: string }): string {
    const out: string[] = [
        '#!/bin/sh',
        `# vtopo export --format qemu: the QEMU command lines of topology ${plan.topology}.`,
        '# Start the datapath first for client-mode ports: QEMU serves the vhost-user socket and waits for it.',
        ...(plan.warnings ?? []).map((w) => `# warning: ${w}`),
        ...plan.notes.map((n) => `# note: ${n}`),
        'set -eu',
    ];
    if (plan.vms.some((v) => v.image.kind === 'default')) {
        out.push('# The default guest image (built by `vtopo deploy` into .cache/guest/<hash>/).');
        out.push(guest ? `: "\${VTOPO_GUEST_KERNEL:=${guest.kernel}}"` : ': "${VTOPO_GUEST_KERNEL:?set it to the guest vmlinuz}"');
        out.push(guest ? `: "\${VTOPO_GUEST_INITRD:=${guest.initrd}}"` : ': "${VTOPO_GUEST_INITRD:?set it to the guest initrd.img}"');
    }
    const dirs = [...new Set(plan.vms.flatMap((v) => [v.pidFile, ...v.ports.map((p) => p.socketPath)]).map((f) => f.slice(0, f.lastIndexOf('/'))))];
    out.push(`mkdir -p ${dirs.map(shq).join(' ')}`);
    for (const vm of plan.vms) {
        out.push('', `# vm ${vm.name} (${vm.accel}, ${vm.cpus} vCPU, ${vm.memoryBytes / 2 ** 20}M)`);
        out.push(`${formatCommand(argv(vm))} &`);
    }
    out.push('', 'wait', '');
    return out.join('\n');
}
