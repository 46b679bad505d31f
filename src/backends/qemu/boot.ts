import type { VmPlan } from '../../core/plan.js';

export type BootImage =
    | { kind: 'kernel'; kernel: string; initrd?: string; append?: string; agent: boolean }
    | { kind: 'disk'; path: string; agent: false };

/** Kernel command line read by the default guest's /init (guest/rootfs/init). */
export function guestCmdline(vm: VmPlan): string {
    const parts = [`vtopo.vm=${vm.name}`, `vtopo.cpus=${vm.cpus}`];
    for (const p of vm.ports) {
        // The gateway is a sixth field only when set, so the command lines of guests without one stay as they were.
        parts.push(`vtopo.port=${p.name},${p.mac},${p.ip ?? '-'},${p.mtu},${p.queues}${p.gateway ? `,${p.gateway}` : ''}`);
    }
    return parts.join(' ');
}

/** The console goes to ttyS0 (our console socket); panic=-1 + -no-reboot make an unhandled panic end QEMU. */
const BASE_APPEND = 'console=ttyS0 panic=-1';

export function resolveBootImage(vm: VmPlan, guest?: { kernel: string; initrd: string }): BootImage {
    const img = vm.image;
    switch (img.kind) {
        case 'default':
            if (!guest) throw new Error(`vm ${vm.name}: the default image needs ensureGuestImage() first`);
            return { kind: 'kernel', kernel: guest.kernel, initrd: guest.initrd, append: `${BASE_APPEND} ${guestCmdline(vm)}`, agent: true };
        case 'kernel':
            // A user's kernel keeps its own command line; ours follows so a
            // vtopo-aware initrd can still read the port list.
            return {
                kind: 'kernel',
                kernel: img.kernel,
                ...(img.initrd ? { initrd: img.initrd } : {}),
                append: `${img.append ?? BASE_APPEND} ${guestCmdline(vm)}`,
                agent: false,
            };
        case 'disk':
            return { kind: 'disk', path: img.path, agent: false };
    }
}
