/**
 * The runtime the language server hosts: the same functions the CLI calls
 * (src/runtime/index.ts), plus the editor-only extras (export text, guest
 * console socket, captures into the editor's file) read from the deployed Plan.
 */
import { createWriteStream } from 'node:fs';
import { exportTopology, runtime } from '../../src/runtime/index.js';
import { VtopoError } from '../../src/core/api.js';
import { runRoot } from '../../src/host/facts.js';
import { runDirFor } from '../../src/runtime/load.js';
import { readStateLenient } from '../../src/host/state.js';
import type { Plan } from '../../src/core/plan.js';
import type { ExportFormat } from '../../src/core/lsp-protocol.js';
import type { LiveRuntime } from './server.js';

const LANGUAGE: Record<ExportFormat, string> = { 'ovs-vsctl': 'shellscript', 'ovn-nbctl': 'shellscript', qemu: 'shellscript', libvirt: 'xml' };

async function deployedPlan(file: string): Promise<Plan> {
    const { topology, runDir } = await runDirFor(file, runRoot());
    const state = readStateLenient(runDir);
    const plan = state?.deployed ?? state?.pending;
    if (!plan) throw new VtopoError(`topology ${topology} is not deployed`, 'run "vtopo: Deploy" first', 'not-deployed');
    return plan;
}

/** Captures the editor started, by `file#port`: stopping one aborts it and waits for its count. */
const captures = new Map<string, { stop: () => Promise<number>; file: string }>();

export async function loadRuntime(): Promise<LiveRuntime> {
    return {
        ...runtime,
        async exportTopology(file, format, host) {
            return { text: await exportTopology(file, format, host ? { host } : {}), language: LANGUAGE[format] ?? 'plaintext' };
        },
        async consoleTarget(file, vmName) {
            const plan = await deployedPlan(file);
            const vm = plan.vms.find((v) => v.name === vmName);
            if (!vm) throw new VtopoError(`topology ${plan.topology} has no deployed vm ${vmName}`, `pick one of: ${plan.vms.map((v) => v.name).join(', ') || '(none)'}`);
            return { socket: vm.consoleSocket, serialLog: vm.serialLog };
        },
        // The same capture as `vtopo capture` (both datapaths), written into the editor's file.
        async startCapture(file, port, pcapFile) {
            const key = `${file}#${port}`;
            if (captures.has(key)) throw new VtopoError(`a capture of ${port} is already running (into ${captures.get(key)!.file})`, 'stop it first ("vtopo: Stop Capture")', 'busy');
            const ctl = new AbortController();
            const out = createWriteStream(pcapFile, { mode: 0o644 });
            let started!: () => void;
            const running = new Promise<void>((resolve) => { started = resolve; });
            const done = runtime.capture(file, port, (b) => out.write(b), { signal: ctl.signal, onStarted: () => started() })
                .finally(() => new Promise<void>((resolve) => out.end(() => resolve())));
            // Refused before it started (unknown port, no such datapath): the error goes back now.
            await Promise.race([running, done]);
            captures.set(key, { file: pcapFile, stop: async () => { ctl.abort(); return (await done).packets; } });
            const forget = () => { captures.delete(key); };
            done.then(forget, forget);
            return { file: pcapFile };
        },
        async stopCapture(file, port) {
            const c = captures.get(`${file}#${port}`);
            if (!c) throw new VtopoError(`no capture of ${port} is running`, 'start one with "vtopo: Capture"', 'no-capture');
            return { file: c.file, packets: await c.stop() };
        },
    };
}
