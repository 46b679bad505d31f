/**
 * VmPlan + BootImage → QEMU argv. Pure: no file system, no clock. The launcher
 * and `vtopo export --format qemu` both use it, and golden files pin it.
 * Every element is one argv word: nothing here ever goes through a shell.
 */
import type { VmPlan, VmPortPlan } from '../../core/plan.js';
import type { BootImage } from './boot.js';
import { vmFiles } from './files.js';

/** virtio-serial port name the default guest's agent listens on. */
export const AGENT_PORT_NAME = 'vtopo.agent';
/** The port `vtopo exec` runs commands over (the agent serves it too), so status keeps the agent meanwhile. */
export const EXEC_PORT_NAME = 'vtopo.exec';

export function buildQemuArgv(vm: VmPlan, boot: BootImage, opts: { qemuBinary?: string } = {}): string[] {
    const a: string[] = [opts.qemuBinary ?? 'qemu-system-x86_64'];
    a.push('-name', `${vm.name},debug-threads=on`);
    a.push('-machine', 'pc');
    if (vm.accel === 'kvm') a.push('-accel', 'kvm', '-cpu', 'host');
    else a.push('-accel', 'tcg,thread=multi');
    a.push('-smp', String(vm.cpus));
    const size = sizeArg(vm.memoryBytes);
    a.push('-m', size);
    // vhost-user maps guest RAM in the switch: it must be a shareable fd.
    if (vm.memoryBackend.kind === 'memfd') {
        a.push('-object', `memory-backend-memfd,id=mem0,size=${size},share=on`);
    } else {
        a.push('-object', `memory-backend-file,id=mem0,size=${size},mem-path=${esc(vm.memoryBackend.dir)},share=on`);
    }
    a.push('-numa', 'node,memdev=mem0');
    a.push('-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none', '-no-reboot');
    a.push('-chardev', `socket,id=con0,path=${esc(vm.consoleSocket)},server=on,wait=off,logfile=${esc(vm.serialLog)},logappend=off`);
    a.push('-serial', 'chardev:con0');
    a.push('-qmp', `unix:${esc(vm.qmpSocket)},server=on,wait=off`);
    a.push('-device', 'pvpanic-pci');
    if (boot.agent) {
        a.push('-device', 'virtio-serial-pci,id=vser0');
        a.push('-chardev', `socket,id=agent0,path=${esc(vm.agentSocket)},server=on,wait=off`);
        a.push('-device', `virtserialport,bus=vser0.0,chardev=agent0,name=${AGENT_PORT_NAME}`);
        a.push('-chardev', `socket,id=exec0,path=${esc(vmFiles(vm).execSocket)},server=on,wait=off`);
        a.push('-device', `virtserialport,bus=vser0.0,chardev=exec0,name=${EXEC_PORT_NAME}`);
    }
    vm.ports.forEach((p, i) => a.push(...portArgs(p, i)));
    if (boot.kind === 'kernel') {
        a.push('-kernel', boot.kernel);
        if (boot.initrd) a.push('-initrd', boot.initrd);
        if (boot.append) a.push('-append', boot.append);
    } else {
        const format = /\.qcow2$/i.test(boot.path) ? 'qcow2' : 'raw';
        a.push('-drive', `file=${esc(boot.path)},if=virtio,format=${format}`);
    }
    return a;
}

function portArgs(p: VmPortPlan, i: number): string[] {
    // client topology mode: QEMU is the socket server and waits for the switch
    // before the guest starts; server mode: QEMU connects and keeps retrying.
    const chr = p.vhostMode === 'client'
        ? `socket,id=vhu${i},path=${esc(p.socketPath)},server=on`
        : `socket,id=vhu${i},path=${esc(p.socketPath)},reconnect=1`;
    const dev = [
        'virtio-net-pci',
        `id=${p.name}`,
        `netdev=net${i}`,
        `mac=${p.mac}`,
        ...(p.queues > 1 ? ['mq=on'] : []),
        // Used as given: the plan chose 2N+2 (KVM) or 0 (TCG, QEMU 7.2 MSI-X crash).
        `vectors=${p.vectors}`,
        `mrg_rxbuf=${p.mrgRxbuf ? 'on' : 'off'}`,
        `host_mtu=${p.mtu}`,
        ...(p.ring === 'packed' ? ['packed=on'] : []),
    ].join(',');
    return [
        '-chardev', chr,
        '-netdev', `vhost-user,id=net${i},chardev=vhu${i},queues=${p.queues}`,
        '-device', dev,
    ];
}

/** QEMU option values: a literal comma is written as two. */
function esc(v: string): string {
    return v.replace(/,/g, ',,');
}

function sizeArg(bytes: number): string {
    const MiB = 2 ** 20;
    if (bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)}G`;
    if (bytes % MiB === 0) return `${bytes / MiB}M`;
    return String(bytes);
}
