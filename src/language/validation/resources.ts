import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import type { Bridge, Host, Topology, Vm, VtopoAstType } from '../generated/ast.js';
import {
    bridgeDatapath, DATAPATH_RESERVE_BYTES, DEFAULTS, hostCores, hostPollCores, hugepagesOf, vmCpus, vmHost, vmMemory, type HugepageInfo,
} from '../defaults.js';
import { formatSize, parseCoreList, parseOvsdbRemote } from '../units.js';
import { describe, lineOf, replaceFix, report } from './report.js';
import { indexTopology } from './topology-index.js';
import { prop } from '../props.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function checkSize(accept: ValidationAcceptor, node: Host | Vm, property: 'memory', value: number | undefined): boolean {
    if (value === undefined) return true;
    if (!Number.isFinite(value) || value <= 0) {
        report(accept, 'size-invalid', `The ${property} of ${describe(node)} must be a positive size such as 256M or 4G.`, node, { property });
        return false;
    }
    return true;
}

function coreList(accept: ValidationAcceptor, node: Host | Vm, property: 'cores' | 'pollCores' | 'pin', text: string | number | undefined): number[] | undefined {
    if (text === undefined) return undefined;
    const cores = parseCoreList(text);
    if (!cores) {
        const kw = property === 'pollCores' ? 'poll-cores' : property;
        report(accept, 'core-list-invalid', `\`${kw} ${text}\` is not a valid core list: ranges go low to high, e.g. 0-3 or 0,2-3.`, node as Vm, { property: property as 'pin' });
    }
    return cores;
}

/** What is wrong with the host's hugepages line, if anything. */
function hugepagesProblem(host: Host): { message: string; node: AstNode; property: string } | undefined {
    const h = prop(host, 'hugepages');
    const hp = hugepagesOf(host);
    if (!h || !hp) return undefined;
    if (h.pageSize !== undefined && h.pageSize !== 2 * MiB && h.pageSize !== GiB) {
        return { node: h, property: 'pageSize', message: `Hugepage size ${formatSize(h.pageSize)} is not one x86-64 supports; use 2M or 1G pages (e.g. \`hugepages 4 x 1G\`).` };
    }
    if (h.count !== undefined && h.count < 1) {
        return { node: h, property: 'count', message: `\`hugepages ${h.count} x …\` reserves no pages; reserve at least one or drop the line.` };
    }
    if (h.total !== undefined && (!Number.isFinite(h.total) || h.total <= 0 || h.total % DEFAULTS.hugepageSizeBytes !== 0)) {
        return {
            node: h, property: 'total',
            message: `hugepages ${Number.isFinite(h.total) ? formatSize(h.total) : '?'} is not a whole number of 2M pages; use a multiple of 2M such as 512M, or \`N x 1G\`.`,
        };
    }
    const memory = prop(host, 'memory');
    if (memory !== undefined && hp.totalBytes > memory) {
        return { node: host, property: 'hugepages', message: `hugepages reserve ${formatSize(hp.totalBytes)}, more than the host memory ${formatSize(memory)}; reserve less or raise \`memory\`.` };
    }
    return undefined;
}

/** The host's hugepages when declared and sound; a broken line is reported once, by the host check, not again as a shortage. */
function usableHugepages(host: Host | undefined): HugepageInfo | undefined {
    return host && !hugepagesProblem(host) ? hugepagesOf(host) : undefined;
}

function outside(cores: number[], allowed: number[] | undefined): number[] {
    if (!allowed) return [];
    const ok = new Set(allowed);
    return cores.filter((c) => !ok.has(c));
}

export const resourceChecks: ValidationChecks<VtopoAstType> = {
    Host(host: Host, accept) {
        checkSize(accept, host, 'memory', prop(host, 'memory'));
        const cores = coreList(accept, host, 'cores', prop(host, 'cores'));
        const poll = coreList(accept, host, 'pollCores', prop(host, 'pollCores'));
        if (poll && cores) {
            const bad = outside(poll, cores);
            if (bad.length) {
                report(accept, 'core-outside-host',
                    `poll-cores ${bad.join(',')} ${bad.length === 1 ? 'is' : 'are'} not among the host cores (${prop(host, 'cores')}); ` +
                    `the datapath may only poll on cores vtopo is given. Add ${bad.length === 1 ? 'it' : 'them'} to \`cores\` or pick poll-cores from ${prop(host, 'cores')}.`,
                    host, { property: 'pollCores' });
            }
        }
        const problem = hugepagesProblem(host);
        if (problem) report(accept, 'hugepages-invalid', problem.message, problem.node, { property: problem.property as never });
        const ovsdb = prop(host, 'ovsdb');
        if (ovsdb !== undefined) {
            if (!parseOvsdbRemote(ovsdb)) {
                report(accept, 'ovsdb-invalid',
                    `ovsdb "${ovsdb}" is not the unix socket of an OvS database on this host; write \`unix:\` and an absolute path of at most 107 bytes, ` +
                    `e.g. "unix:/var/run/openvswitch/db.sock" (the socket \`ovs-vsctl\` uses), or drop the line to let vtopo start its own OvS.`,
                    host, { property: 'ovsdb' });
            }
            if (!indexTopology(host.$container).bridges.some((b) => bridgeDatapath(b) === 'ovs')) {
                report(accept, 'ovsdb-unused',
                    `ovsdb names an existing OvS, but no bridge uses \`datapath ovs\`, so nothing will go there; ` +
                    `add \`datapath ovs\` to the bridges that belong on it, or drop the ovsdb line.`,
                    host, { property: 'ovsdb' });
            }
        }
    },

    Vm(vm: Vm, accept) {
        const cpus = prop(vm, 'cpus');
        if (cpus !== undefined && (cpus < 1 || cpus > 255)) {
            report(accept, 'cpus-out-of-range', `${describe(vm)} asks for ${cpus} vCPUs; QEMU's pc machine takes 1 to 255.`, vm, { property: 'cpus' });
        }
        const memOk = checkSize(accept, vm, 'memory', prop(vm, 'memory'));
        const mem = vmMemory(vm);
        const image = prop(vm, 'image');
        const defaultImage = !image || image.kind === 'default';
        if (memOk && defaultImage && mem < DEFAULTS.defaultImageMinMemoryBytes) {
            report(accept, 'vm-memory-too-small',
                `${describe(vm)} has ${formatSize(mem)} of memory; the default guest image needs at least 128M to boot. Raise memory to 128M or more.`,
                vm, { property: 'memory', fixes: replaceFix(vm, 'memory', '128M', 'Set memory to 128M') });
        }
        if (vm.ports.length === 0) {
            report(accept, 'vm-without-ports',
                `${describe(vm)} has no port, so it is not connected to any bridge; add \`port eth0 { bridge br0 }\` or remove the VM.`, vm, { property: 'name' });
        }
        const host = vmHost(vm);
        const cores = hostCores(host);
        if (cores && vmCpus(vm) > cores.length) {
            report(accept, 'vcpus-exceed-host-cores',
                `${describe(vm)} has ${vmCpus(vm)} vCPUs but the host grants ${cores.length} core${cores.length === 1 ? '' : 's'} (${prop(host, 'cores')}): ` +
                `its vCPUs will time-share and run slower. Lower cpus or grant more cores.`, vm, { property: 'cpus' });
        }
        const hp = usableHugepages(host);
        if (memOk && hp && hp.pageSizeBytes > 0 && mem % hp.pageSizeBytes !== 0) {
            report(accept, 'hugepage-size-mismatch',
                `${describe(vm)} memory ${formatSize(mem)} is not a multiple of the ${formatSize(hp.pageSizeBytes)} hugepage size; ` +
                `guest RAM is backed by whole pages. Use a multiple, e.g. ${formatSize(Math.ceil(mem / hp.pageSizeBytes) * hp.pageSizeBytes)}.`,
                vm, { property: 'memory' });
        }
        const pin = coreList(accept, vm, 'pin', prop(vm, 'pin'));
        if (!pin) return;
        const bad = outside(pin, cores);
        if (bad.length) {
            report(accept, 'core-outside-host',
                `${describe(vm)} is pinned to core${bad.length === 1 ? '' : 's'} ${bad.join(',')}, outside the host cores (${prop(host, 'cores')}); ` +
                `pin only to cores vtopo is given, or add them to the host's \`cores\`.`, vm, { property: 'pin' });
        }
        const poll = new Set(hostPollCores(host));
        const overlap = pin.filter((c) => poll.has(c));
        if (overlap.length) {
            report(accept, 'pin-overlaps-poll-cores',
                `${describe(vm)} is pinned to ${overlap.join(',')}, where the datapath busy-polls (poll-cores ${prop(host, 'pollCores')}); ` +
                `the vCPUs and the poll thread will fight for the core and both slow down. Pin to other cores.`, vm, { property: 'pin' });
        }
        if (pin.length < vmCpus(vm)) {
            report(accept, 'pin-count-mismatch',
                `${describe(vm)} has ${vmCpus(vm)} vCPUs but is pinned to ${pin.length} core${pin.length === 1 ? '' : 's'}; vCPUs will share cores. ` +
                `Pin one core per vCPU or lower cpus.`, vm, { property: 'pin' });
        }
    },

    Topology(topo: Topology, accept) {
        // Each host's VMs against that host's memory, hugepages and cores.
        const idx = indexTopology(topo);
        for (const host of idx.hosts) hostBudget(accept, host, idx.vms.filter((vm) => vmHost(vm) === host), idx.bridges);
    },
};

function hostBudget(accept: ValidationAcceptor, host: Host, onHost: Vm[], bridges: Bridge[]): void {
    {
        const idx = { vms: onHost, bridges };
        const vms = idx.vms.filter((vm) => Number.isFinite(vmMemory(vm)) && vmMemory(vm) > 0);
        const guests = vms.reduce((s, vm) => s + vmMemory(vm), 0);
        const ovs = idx.bridges.some((b) => bridgeDatapath(b) === 'ovs');
        const hp = usableHugepages(host);
        const reserve = ovs ? DATAPATH_RESERVE_BYTES.ovs : DATAPATH_RESERVE_BYTES.embedded;
        const need = guests + reserve;
        const hostMemory = prop(host, 'memory');
        const breakdown = () => {
            const parts = vms.slice(0, 6).map((vm) => `${vm.name} ${formatSize(vmMemory(vm))}`);
            const more = vms.length > 6 ? `, … ${vms.length - 6} more` : '';
            const rsv = reserve ? ` + OvS-DPDK ${formatSize(reserve)}` : '';
            return `${formatSize(guests)} for ${vms.length} VM${vms.length === 1 ? '' : 's'} (${parts.join(', ')}${more})${rsv} = ${formatSize(need)}`;
        };
        if (hp && hp.totalBytes > 0 && need > hp.totalBytes) {
            report(accept, 'memory-over-hugepages',
                `Guest memory is backed by hugepages, and the topology needs ${breakdown()}, but the host reserves only ${formatSize(hp.totalBytes)} of hugepages. ` +
                `Raise \`hugepages\` to at least ${formatSize(Math.ceil(need / hp.pageSizeBytes) * hp.pageSizeBytes)} or give the VMs less memory.`,
                host, { property: 'hugepages' });
        } else if (!hp && hostMemory !== undefined && Number.isFinite(hostMemory) && need > hostMemory) {
            report(accept, 'memory-over-host',
                `The topology needs ${breakdown()}, but the host grants ${formatSize(hostMemory)}. Raise the host \`memory\` or give the VMs less.`,
                host, { property: 'memory' });
        }
        // vCPUs of two VMs pinned to one core time-share it: each VM gets about half of what it was sized for.
        const pinnedBy = new Map<number, Vm>();
        for (const vm of idx.vms) {
            const pinText = prop(vm, 'pin');
            const pin = pinText === undefined ? undefined : parseCoreList(pinText);
            if (!pin) continue;
            const shared = new Map<Vm, number[]>();
            for (const c of pin) {
                const other = pinnedBy.get(c);
                if (other) shared.set(other, [...(shared.get(other) ?? []), c]);
                else pinnedBy.set(c, vm);
            }
            for (const [other, cores] of shared) {
                report(accept, 'pin-shared',
                    `${describe(vm)} is pinned to core${cores.length === 1 ? '' : 's'} ${cores.join(',')}, which ${describe(other)} is pinned to as well (line ${lineOf(other)}); ` +
                    `their vCPUs will time-share and both run slower. Pin them to different cores, or drop \`pin\` on one.`, vm, { property: 'pin' });
            }
        }
        // An existing OvS (host ovsdb) brings its own DPDK memory settings; a fabric host's OvS always runs --no-huge.
        const underFabric = host.$container.elements.some((e) => e.$type === 'Fabric');
        if (ovs && !hp && prop(host, 'ovsdb') === undefined && !underFabric) {
            const first = idx.bridges.find((b) => bridgeDatapath(b) === 'ovs')!;
            report(accept, 'ovs-without-hugepages',
                `Without hugepages OvS-DPDK runs with --no-huge: it works, but mbuf pools sit on 4K pages and forward fewer packets per second. ` +
                `Declare \`hugepages 1G\` in the host block for full speed.`, first, { property: 'datapath' });
        }
    }
}
