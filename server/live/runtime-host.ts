/**
 * The runtime the language server hosts: the same functions the CLI calls
 * (src/runtime/index.ts), plus the editor-only extras (export text, guest
 * console under the console lock, captures into the editor's file).
 */
import { createWriteStream } from 'node:fs';
import { exportTopology, runtime } from '../../src/runtime/index.js';
import { VtopoError } from '../../src/core/api.js';
import type { ExportFormat } from '../../src/core/lsp-protocol.js';
import type { LiveRuntime } from './server.js';

const LANGUAGE: Record<ExportFormat, string> = { 'ovs-vsctl': 'shellscript', 'ovn-nbctl': 'shellscript', qemu: 'shellscript', libvirt: 'xml' };

/** Console locks held for the editor's terminals, by `file#vm`. */
const consoles = new Map<string, () => void>();

/** Captures the editor started, by `file#port`: stopping one aborts it and waits for its count. */
const captures = new Map<string, { stop: () => Promise<number>; file: string }>();

export async function loadRuntime(): Promise<LiveRuntime> {
    return {
        ...runtime,
        async exportTopology(file, format, host) {
            return { text: await exportTopology(file, format, host ? { host } : {}), language: LANGUAGE[format] ?? 'plaintext' };
        },
        // The same lock as `vtopo console`, held by this server for the editor's terminal until it closes:
        // a CLI console, or a second terminal, on that guest is refused meanwhile (and the other way round).
        async consoleTarget(file, vmName) {
            const key = `${file}#${vmName}`;
            if (consoles.has(key)) {
                throw new VtopoError(`the editor already has a console of vm ${vmName} open`, 'use that terminal, or close it first', 'console-busy');
            }
            const s = await runtime.attachConsole(file, vmName);
            consoles.set(key, s.release);
            return { socket: s.socket, serialLog: s.serialLog };
        },
        releaseConsole(file, vmName) {
            const key = `${file}#${vmName}`;
            consoles.get(key)?.();
            consoles.delete(key);
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
