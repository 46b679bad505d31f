/** `vtopo export` formats over a Plan. Pure. */
import type { FabricHostPlan, Plan, VmPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { exportLibvirt } from './libvirt.js';
import { exportOvnNbctl } from './ovn-nbctl.js';
import { exportOvsHost } from './ovs-host.js';
import { exportOvsVsctl } from './ovs-vsctl.js';
import { exportQemu } from './qemu.js';

/**
 * Each format, what it writes, and how it takes a plan across hosts
 * (plan.fabric): `per-host` needs `host` there, `whole` is the one logical
 * topology (no `host`), `vms` takes `host` to pick that host's VMs; `fabric`
 * says the format needs a plan across hosts.
 */
export const EXPORT_TABLE = {
    'ovs-vsctl': { describe: 'a shell script creating the OvS bridges, ports and patch links (across hosts: one host\'s, --host NAME)', hosts: 'per-host', fabric: false },
    'ovn-nbctl': { describe: 'a shell script creating the logical switches, ports and routers in OVN_Northbound (a topology across hosts)', hosts: 'whole', fabric: true },
    qemu: { describe: 'a shell script with every VM\'s QEMU command line (--host NAME: that host\'s VMs)', hosts: 'vms', fabric: false },
    libvirt: { describe: 'libvirt domain XML, one document per VM (--vm NAME for one, --host NAME for a host\'s)', hosts: 'vms', fabric: false },
} as const satisfies Record<string, { describe: string; hosts: 'per-host' | 'whole' | 'vms'; fabric: boolean }>;

export type ExportFormat = keyof typeof EXPORT_TABLE;
export const EXPORT_FORMATS = Object.keys(EXPORT_TABLE) as ExportFormat[];

export interface ExportOptions {
    /** The QEMU argv of a VM (src/backends/qemu buildQemuArgv through the runtime). */
    argv: (vm: VmPlan) => string[];
    /** Only this VM (qemu, libvirt). */
    vm?: string;
    /** Across hosts: this host's part (ovs-vsctl), or its VMs (qemu, libvirt). */
    host?: string;
    /** A built default guest image to name instead of placeholders. */
    guest?: { kernel: string; initrd: string };
    /** Kernel command line of the default image for a VM (libvirt). */
    cmdline?: (vm: VmPlan) => string;
}

/** Every (format, host) a plan exports as: each format once, a per-host one once per host. For sweeps over all exports. */
export function exportCases(plan: Plan): { format: ExportFormat; host?: string }[] {
    return EXPORT_FORMATS.flatMap((format) => {
        const t = EXPORT_TABLE[format];
        if (!plan.fabric) return t.fabric ? [] : [{ format }];
        return t.hosts === 'per-host' ? plan.fabric.hosts.map((h) => ({ format, host: h.name })) : [{ format }];
    });
}

const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(', ');

/** The host `--host` names, checked against the plan and the format. */
function pickHost(plan: Plan, format: ExportFormat, host: string | undefined): FabricHostPlan | undefined {
    const f = plan.fabric;
    if (host === undefined) {
        if (f && EXPORT_TABLE[format].hosts === 'per-host') {
            throw new VtopoError(`topology ${plan.topology} spans hosts ${names(f.hosts)}: its ${format} export is one host's part`,
                `pick one with --host (${names(f.hosts)})`, 'host-needed');
        }
        return undefined;
    }
    if (!f) {
        throw new VtopoError(`topology ${plan.topology} runs on one host: --host ${host} picks a host of a topology across hosts (a fabric)`,
            'leave out --host', 'no-fabric');
    }
    const h = f.hosts.find((x) => x.name === host);
    if (!h) throw new VtopoError(`topology ${plan.topology} has no host ${host}`, `name one of: ${names(f.hosts)}`, 'no-such-host');
    if (EXPORT_TABLE[format].hosts === 'whole') {
        throw new VtopoError(`the ${format} export is the logical topology every host shares: --host ${host} does not apply`, 'leave out --host', 'bad-option');
    }
    return h;
}

export function exportPlan(plan: Plan, format: ExportFormat, opts: ExportOptions): string {
    if (!(format in EXPORT_TABLE)) {
        throw new VtopoError(`unknown export format '${String(format)}'`, `use one of: ${EXPORT_FORMATS.join(', ')}`, 'bad-format');
    }
    if (opts.vm && !plan.vms.some((v) => v.name === opts.vm)) {
        throw new VtopoError(`topology ${plan.topology} has no vm ${opts.vm}`, `name one of: ${names(plan.vms)}`, 'no-such-vm');
    }
    if (EXPORT_TABLE[format].fabric && !plan.fabric) {
        throw new VtopoError(`topology ${plan.topology} has no fabric: the ${format} export is the logical topology OVN carries across hosts`,
            'declare the hosts and a `fabric { engine ovn … }` block in the file, or export this one-host topology with --format ovs-vsctl', 'no-fabric');
    }
    const h = pickHost(plan, format, opts.host);
    const onHost = (v: VmPlan) => !h || v.host === h.name || h.vms.includes(v.name);
    if (opts.vm && h && !onHost(plan.vms.find((v) => v.name === opts.vm)!)) {
        throw new VtopoError(`vm ${opts.vm} does not run on host ${h.name}`, `leave out --host, or name a vm of ${h.name}: ${names(plan.vms.filter(onHost)) || 'it has none'}`, 'no-such-vm');
    }
    const vms = plan.vms.filter((v) => onHost(v) && (!opts.vm || v.name === opts.vm));
    switch (format) {
        case 'ovs-vsctl': return plan.fabric && h ? exportOvsHost(plan, plan.fabric, h) : exportOvsVsctl(plan);
        case 'ovn-nbctl': return exportOvnNbctl(plan, plan.fabric!);
        case 'qemu': return exportQemu({ ...plan, vms }, opts.argv, opts.guest);
        case 'libvirt': return exportLibvirt({ ...plan, vms }, { ...opts, vm: undefined });
    }
}
