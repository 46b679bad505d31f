/**
 * libvirt domain XML per VM: vhostuser interfaces with driver queues, shared
 * memory backing (vhost-user maps guest RAM) and a NUMA cell carrying it.
 */
import type { Plan, VlanPlan, VmPlan } from '../../core/plan.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function ranges(cores: number[]): string {
    const out: string[] = [];
    for (let i = 0; i < cores.length; i++) {
        let j = i;
        while (j + 1 < cores.length && cores[j + 1] === cores[j] + 1) j++;
        out.push(i === j ? `${cores[i]}` : `${cores[i]}-${cores[j]}`);
        i = j;
    }
    return out.join(',');
}

/** libvirt's <vlan>: one tag for an access port; a trunk lists its VLANs, the native one marked untagged. */
function vlanXml(v: VlanPlan): string[] {
    if (v.mode === 'access') return [`      <vlan><tag id='${v.tag}'/></vlan>`];
    const ids = [...new Set([...v.trunks, ...(v.native ? [v.native] : [])])].sort((a, b) => a - b);
    return [`      <vlan trunk='yes'>`, ...ids.map((id) => `        <tag id='${id}'${id === v.native ? ` nativeMode='untagged'` : ''}/>`), '      </vlan>'];
}

export function domainXml(plan: Plan, vm: VmPlan, opts: { guest?: { kernel: string; initrd: string; cmdline?: string }; emulator?: string } = {}): string {
    const kib = Math.round(vm.memoryBytes / 1024);
    const x: string[] = [];
    x.push(`<!-- vtopo export (libvirt): vm ${esc(vm.name)} of topology ${esc(plan.topology)} -->`);
    x.push(`<domain type='${vm.accel === 'kvm' ? 'kvm' : 'qemu'}'>`);
    x.push(`  <name>${esc(`${plan.topology}-${vm.name}`)}</name>`);
    x.push(`  <memory unit='KiB'>${kib}</memory>`);
    x.push(`  <vcpu placement='static'${vm.pin ? ` cpuset='${ranges(vm.pin)}'` : ''}>${vm.cpus}</vcpu>`);
    if (vm.pin) {
        x.push('  <cputune>');
        for (let i = 0; i < vm.cpus; i++) x.push(`    <vcpupin vcpu='${i}' cpuset='${vm.pin[i % vm.pin.length]}'/>`);
        x.push('  </cputune>');
    }
    x.push('  <memoryBacking>');
    if (vm.memoryBackend.kind === 'file') {
        x.push(`    <hugepages><page size='${vm.memoryBackend.pageSizeBytes / 1024}' unit='KiB'/></hugepages>`);
    } else {
        x.push(`    <source type='memfd'/>`);
    }
    x.push(`    <access mode='shared'/>`);
    x.push('  </memoryBacking>');
    x.push('  <os>');
    x.push(`    <type arch='x86_64' machine='pc'>hvm</type>`);
    const img = vm.image;
    if (img.kind === 'disk') {
        x.push(`    <boot dev='hd'/>`);
    } else {
        const kernel = img.kind === 'kernel' ? img.kernel : opts.guest?.kernel ?? '/var/cache/vtopo/guest/vmlinuz';
        const initrd = img.kind === 'kernel' ? img.initrd : opts.guest?.initrd ?? '/var/cache/vtopo/guest/initrd.img';
        x.push(`    <kernel>${esc(kernel)}</kernel>`);
        if (initrd) x.push(`    <initrd>${esc(initrd)}</initrd>`);
        const cmdline = img.kind === 'kernel' ? img.append : opts.guest?.cmdline;
        if (cmdline) x.push(`    <cmdline>${esc(cmdline)}</cmdline>`);
    }
    x.push('  </os>');
    x.push('  <features><acpi/></features>');
    x.push(vm.accel === 'kvm' ? `  <cpu mode='host-passthrough'>` : `  <cpu>`);
    x.push('    <numa>');
    x.push(`      <cell id='0' cpus='0-${vm.cpus - 1}' memory='${kib}' unit='KiB' memAccess='shared'/>`);
    x.push('    </numa>');
    x.push('  </cpu>');
    x.push('  <on_poweroff>destroy</on_poweroff>');
    x.push('  <on_reboot>destroy</on_reboot>');
    x.push('  <on_crash>destroy</on_crash>');
    x.push('  <devices>');
    x.push(`    <emulator>${esc(opts.emulator ?? '/usr/bin/qemu-system-x86_64')}</emulator>`);
    if (img.kind === 'disk') {
        const format = /\.qcow2$/i.test(img.path) ? 'qcow2' : 'raw';
        x.push(`    <disk type='file' device='disk'>`);
        x.push(`      <driver name='qemu' type='${format}'/>`);
        x.push(`      <source file='${esc(img.path)}'/>`);
        x.push(`      <target dev='vda' bus='virtio'/>`);
        x.push('    </disk>');
    }
    for (const p of vm.ports) {
        // Topology `vhost client` = the switch is the client, QEMU serves the socket: libvirt mode='server'.
        x.push(`    <interface type='vhostuser'>`);
        x.push(`      <mac address='${p.mac}'/>`);
        x.push(`      <source type='unix' path='${esc(p.socketPath)}' mode='${p.vhostMode === 'client' ? 'server' : 'client'}'/>`);
        x.push(`      <model type='virtio'/>`);
        x.push(`      <driver queues='${p.queues}'${p.ring === 'packed' ? " packed='on'" : ''}>`);
        x.push(`        <host mrg_rxbuf='${p.mrgRxbuf ? 'on' : 'off'}'/>`);
        x.push('      </driver>');
        x.push(`      <mtu size='${p.mtu}'/>`);
        if (p.vlan) x.push(...vlanXml(p.vlan));
        if (vm.accel === 'tcg') x.push(`      <!-- QEMU 7.2 under TCG crashes with MSI-X on vhost-user virtio-net: vtopo itself runs it with vectors=0 -->`);
        x.push('    </interface>');
    }
    x.push(`    <serial type='unix'>`);
    x.push(`      <source mode='bind' path='${esc(vm.consoleSocket)}'/>`);
    x.push(`      <target port='0'/>`);
    x.push('    </serial>');
    if (img.kind === 'default') {
        x.push(`    <channel type='unix'>`);
        x.push(`      <source mode='bind' path='${esc(vm.agentSocket)}'/>`);
        x.push(`      <target type='virtio' name='vtopo.agent'/>`);
        x.push('    </channel>');
    }
    x.push('  </devices>');
    x.push('</domain>');
    return x.join('\n') + '\n';
}

/** Every VM's domain, one document each (select one with `vm`). */
export function exportLibvirt(plan: Plan, opts: { vm?: string; guest?: { kernel: string; initrd: string }; cmdline?: (vm: VmPlan) => string } = {}): string {
    const vms = opts.vm ? plan.vms.filter((v) => v.name === opts.vm) : plan.vms;
    return vms.map((vm) => domainXml(plan, vm, { ...(opts.guest ? { guest: { ...opts.guest, cmdline: opts.cmdline?.(vm) } } : {}) })).join('\n');
}
