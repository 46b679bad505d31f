/**
 * The runtime the language server hosts: the same functions the CLI calls
 * (src/runtime/index.ts), plus the editor-only extras (export text, guest
 * console socket, packet capture) read from the deployed Plan.
 */
import { exportTopology, runtime } from '../../src/runtime/index.js';
import { VtopoError } from '../../src/core/api.js';
import { runRoot } from '../../src/host/facts.js';
import { runDirFor } from '../../src/runtime/load.js';
import { readStateLenient } from '../../src/host/state.js';
import type { Plan } from '../../src/core/plan.js';
import type { ExportFormat } from '../../src/core/lsp-protocol.js';
import type { LiveRuntime } from './server.js';

const LANGUAGE: Record<ExportFormat, string> = { 'ovs-vsctl': 'shellscript', qemu: 'shellscript', libvirt: 'xml' };

async function deployedPlan(file: string): Promise<Plan> {
    const { topology, runDir } = await runDirFor(file, runRoot());
    const state = readStateLenient(runDir);
    const plan = state?.deployed ?? state?.pending;
    if (!plan) throw new VtopoError(`topology ${topology} is not deployed`, 'run "vtopo: Deploy" first', 'not-deployed');
    return plan;
}

/** The embedded datapath mirrors a port into a pcap file (loaded lazily: it pulls in koffi). */
async function captureApi(plan: Plan, port: string) {
    const vmPort = plan.vms.flatMap((v) => v.ports).find((p) => p.id === port);
    const nic = plan.nics.find((n) => n.name === port);
    const datapath = vmPort?.datapath ?? nic?.datapath;
    if (!datapath) throw new VtopoError(`topology ${plan.topology} has no port ${port}`, `pick one of: ${[...plan.vms.flatMap((v) => v.ports.map((p) => p.id)), ...plan.nics.map((n) => n.name)].join(', ')}`);
    if (datapath !== 'embedded') throw new VtopoError(`port ${port} is on the ${datapath} datapath; only the embedded datapath mirrors ports`, 'capture on a port of an embedded bridge, or use ovs-tcpdump inside the OvS namespace');
    return import('../../src/backends/embedded/index.js');
}

export async function loadRuntime(): Promise<LiveRuntime> {
    return {
        ...runtime,
        async exportTopology(file, format) {
            return { text: await exportTopology(file, format), language: LANGUAGE[format] ?? 'plaintext' };
        },
        async consoleTarget(file, vmName) {
            const plan = await deployedPlan(file);
            const vm = plan.vms.find((v) => v.name === vmName);
            if (!vm) throw new VtopoError(`topology ${plan.topology} has no deployed vm ${vmName}`, `pick one of: ${plan.vms.map((v) => v.name).join(', ') || '(none)'}`);
            return { socket: vm.consoleSocket, serialLog: vm.serialLog };
        },
        async startCapture(file, port, pcapFile) {
            const plan = await deployedPlan(file);
            await (await captureApi(plan, port)).startCapture(plan, port, pcapFile);
            return { file: pcapFile };
        },
        async stopCapture(file, port) {
            const plan = await deployedPlan(file);
            const r = await (await captureApi(plan, port)).stopCapture(plan, port);
            return { file: r.file ?? '', packets: r.frames };
        },
    };
}
