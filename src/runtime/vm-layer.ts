/** The runtime's guests over src/backends/qemu. */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { VmPlan } from '../core/plan.js';
import {
    agentExec, agentIperf3, agentPing, agentPingStats, buildQemuArgv, setGuestLink, takeConsole, ensureGuestImage, launchVm, resolveBootImage, stopVm, vmStatus, waitVmReady, type GuestImage,
} from '../backends/qemu/index.js';
import type { VmLayer } from './deps.js';

/** QEMU binary; VTOPO_QEMU overrides it (a wrapper, another build). */
export function qemuBinary(): string {
    return process.env.VTOPO_QEMU || 'qemu-system-x86_64';
}

export function qemuVmLayer(): VmLayer {
    let guest: GuestImage | undefined;
    const argvOf = (vm: VmPlan, g?: { kernel: string; initrd: string }) =>
        buildQemuArgv(vm, resolveBootImage(vm, g), { qemuBinary: qemuBinary() });
    return {
        async prepareImages(vms, onProgress) {
            if (!vms.some((v) => v.image.kind === 'default') || guest) return;
            guest = await ensureGuestImage({ onProgress: (message) => onProgress({ step: 'image', phase: 'info', message }) });
        },
        async start(vm) {
            // QEMU binds server-mode vhost-user sockets itself and needs their directory first.
            for (const p of vm.ports) mkdirSync(path.dirname(p.socketPath), { recursive: true, mode: 0o700 });
            if (vm.image.kind === 'default' && !guest) guest = await ensureGuestImage();
            await launchVm(vm, argvOf(vm, guest));
        },
        async waitReady(vm, opts) {
            await waitVmReady(vm, {
                timeoutMs: opts.timeoutMs,
                onProgress: (m) => opts.onProgress({ step: 'ready', phase: 'info', message: `vm ${vm.name}: ${m}` }),
            });
        },
        stop: (vm) => stopVm(vm),
        status: (vm) => vmStatus(vm),
        ping: (vm, address, opts) => agentPing(vm, address, opts),
        pingStats: (vm, address, opts) => agentPingStats(vm, address, opts),
        iperf3: (vm, address, opts) => agentIperf3(vm, address, { seconds: opts.seconds }),
        argv: (vm) => argvOf(vm, { kernel: '$VTOPO_GUEST_KERNEL', initrd: '$VTOPO_GUEST_INITRD' }),
        qemuBinary,
        exec: (vm, argv, io, opts) => agentExec(vm, argv, io, opts),
        setLink: (vm, nic, up) => setGuestLink(vm, nic, up),
        takeConsole: (vm) => takeConsole(vm),
    };
}
