/**
 * Working in a running topology: one guest at a time (start, stop,
 * restart), a command in a guest, its console, a capture of a port, a
 * port's carrier. What must outlive this process (a guest the user
 * stopped, a restart under way, ports taken down) is recorded in the state
 * file, and status reads it back (annotateStatus).
 */
import * as path from 'node:path';
import type { DatapathKind, LinkPlan, NicPlan, Plan, VmPlan, VmPortPlan } from '../core/plan.js';
import type { CaptureOptions, CaptureResult, ConsoleSession, ExecIo, ExecOptions, ProgressEvent, RuntimeOptions } from '../core/api.js';
import { VtopoError } from '../core/api.js';
import type { Status, VmStatus } from '../core/status.js';
import { alive, startTicks } from '../host/procs.js';
import { acquireLock, readStateLenient, writeState, type DeployState } from '../host/state.js';
import type { RuntimeDeps } from './deps.js';
import { waitForGuests } from './execute.js';
import { PcapSplitter } from './pcap-stream.js';

export interface Deployment {
    topology: string;
    runDir: string;
    plan?: Plan;
}

type Target =
    | { kind: 'vm-port'; id: string; port: VmPortPlan; vm: VmPlan; datapath: DatapathKind }
    | { kind: 'nic'; id: string; nic: NicPlan; datapath: DatapathKind }
    | { kind: 'link'; id: string; link: LinkPlan; datapath: DatapathKind };

const USER_STOPPED_REASON = (file: string, vm: string) =>
    `stopped with vtopo stop; \`vtopo start ${file} ${vm}\` or the next deploy starts it`;

/** Status as the state file's lab records change it: user stops, restarts under way, ports taken down. */
export function annotateStatus(status: Status, runDir: string | undefined): Status {
    const state = runDir ? readStateLenient(runDir) : undefined;
    if (!state) return status;
    const down = new Set(state.linksDown ?? []);
    const stopped = new Set(state.userStopped ?? []);
    const vms = status.vms.map((v): VmStatus => {
        const r = state.restarting?.[v.name];
        const linksDown = status.ports.filter((p) => p.vm === v.name && down.has(p.id)).map((p) => p.port);
        const out: VmStatus = { ...v, ...(linksDown.length ? { links_down: linksDown } : {}) };
        if (r && alive(r.pid) && (!r.ticks || startTicks(r.pid) === r.ticks)) {
            return { ...out, state: 'restarting', reason: `${v.state}${v.reason ? `: ${v.reason}` : ''}` };
        }
        if (stopped.has(v.name) && v.state !== 'running' && v.state !== 'booting') {
            return { ...out, state: 'stopped', user_stopped: true, reason: USER_STOPPED_REASON(status.file, v.name) };
        }
        return out;
    });
    const ports = status.ports.map((p) => (down.has(p.id) ? { ...p, admin: 'down' as const, link: 'down' as const } : p));
    return { ...status, vms, ports };
}

export function labOps(deps: RuntimeDeps, locate: (file: string, opts: RuntimeOptions) => Promise<Deployment>) {
    const noop = () => undefined;

    async function deployed(file: string, opts: RuntimeOptions): Promise<Deployment & { plan: Plan }> {
        const d = await locate(file, opts);
        if (!d.plan) throw new VtopoError(`topology ${d.topology} is not deployed`, `run \`vtopo deploy ${file}\` first`, 'not-deployed');
        return d as Deployment & { plan: Plan };
    }

    function vmOf(plan: Plan, name: string): VmPlan {
        const vm = plan.vms.find((v) => v.name === name);
        const elsewhere = plan.fabric?.hosts.find((h) => h.vms.includes(name));
        if (!vm && elsewhere) {
            throw new VtopoError(`vm ${name} runs on host ${elsewhere.name}${elsewhere.ssh ? ` (${elsewhere.ssh})` : ''}, not on this machine's part of topology ${plan.topology}`,
                `run the command there with \`--host ${elsewhere.name}\` (vtopo keeps that host's part in its own state)`, 'no-such-vm');
        }
        if (!vm) {
            throw new VtopoError(`topology ${plan.topology} has no vm ${name}`,
                `name one of: ${plan.vms.map((v) => v.name).join(', ') || '(none deployed)'}`, 'no-such-vm');
        }
        return vm;
    }

    function targetOf(plan: Plan, name: string, what: string): Target {
        for (const vm of plan.vms) {
            const port = vm.ports.find((p) => p.id === name);
            if (port) return { kind: 'vm-port', id: port.id, port, vm, datapath: port.datapath };
        }
        const nic = plan.nics.find((n) => n.name === name);
        if (nic) return { kind: 'nic', id: nic.name, nic, datapath: nic.datapath };
        const link = plan.links.find((l) => l.id === name || `${l.a}-${l.b}` === name || `${l.b}--${l.a}` === name);
        if (link) {
            const datapath = plan.bridges.find((b) => b.name === link.a)?.datapath ?? 'embedded';
            return { kind: 'link', id: link.id, link, datapath };
        }
        const names = [...plan.vms.flatMap((v) => v.ports.map((p) => p.id)), ...plan.nics.map((n) => n.name), ...(what === 'capture' ? [] : plan.links.map((l) => l.id))];
        throw new VtopoError(`topology ${plan.topology} has no port ${name}`,
            `name a guest port as VM.PORT${what === 'capture' ? ' or a nic' : ', a nic or a link'}: ${names.join(', ') || '(none)'}`, 'no-such-port');
    }

    /** Changes the state file under the topology's lock (a deploy or another lab command waits its turn). */
    function update(runDir: string, fn: (s: DeployState) => Partial<DeployState>): void {
        const s = readStateLenient(runDir);
        if (!s) return;
        const { version: _v, updatedAt: _u, ...rest } = s;
        writeState(runDir, { ...rest, ...fn(s) });
    }

    async function guestStatus(d: Deployment & { plan: Plan }, vm: VmPlan, file: string): Promise<VmStatus> {
        const st = await deps.vms.status(vm).catch((e): VmStatus => ({ name: vm.name, state: 'absent', reason: (e as Error).message }));
        const status: Status = { topology: d.topology, file, deployed: true, at: '', datapaths: [], vms: [st], ports: [] };
        return annotateStatus(status, d.runDir).vms[0];
    }

    /** Stop (when `stop`), start, wait for the guest and its ports; status says restarting meanwhile. */
    async function bringUp(file: string, name: string, opts: RuntimeOptions, stop: boolean, what: string): Promise<VmStatus> {
        const progress: (e: ProgressEvent) => void = opts.onProgress ?? noop;
        const d = await deployed(file, opts);
        const vm = vmOf(d.plan, name);
        const lock = acquireLock(d.runDir, d.topology, `${what} of vm ${name}`);
        try {
            if (!stop) {
                const now = await deps.vms.status(vm).catch(() => undefined);
                if (now?.state === 'running' || now?.state === 'booting') {
                    update(d.runDir, (s) => ({ userStopped: (s.userStopped ?? []).filter((n) => n !== name) }));
                    progress({ step: 'vm', phase: 'info', message: `vm ${name} is already ${now.state}` });
                    return await guestStatus(d, vm, file);
                }
            }
            update(d.runDir, (s) => ({
                userStopped: (s.userStopped ?? []).filter((n) => n !== name),
                restarting: { ...s.restarting, [name]: { pid: process.pid, ticks: startTicks(process.pid) ?? 0 } },
            }));
            try {
                if (stop) {
                    progress({ step: 'vm', phase: 'start', message: `stopping vm ${name}` });
                    await deps.vms.stop(vm);
                    progress({ step: 'vm', phase: 'done', message: `vm ${name} stopped` });
                }
                progress({ step: 'vm', phase: 'start', message: `starting vm ${name}` });
                await deps.vms.prepareImages([vm], progress);
                await deps.vms.start(vm);
                progress({ step: 'vm', phase: 'done', message: `vm ${name} started` });
                await waitForGuests([vm], { desired: d.plan, deps, progress });
                // A port taken down stays down across the guest's restart.
                const down = new Set(readStateLenient(d.runDir)?.linksDown ?? []);
                for (const p of vm.ports.filter((x) => down.has(x.id))) await deps.vms.setLink(vm, p.name, false);
            } finally {
                update(d.runDir, (s) => {
                    const { [name]: _gone, ...restarting } = s.restarting ?? {};
                    return { restarting };
                });
            }
            return await guestStatus(d, vm, file);
        } finally {
            lock.release();
        }
    }

    async function stopVm(file: string, name: string, opts: RuntimeOptions = {}): Promise<VmStatus> {
        const progress = opts.onProgress ?? noop;
        const d = await deployed(file, opts);
        const vm = vmOf(d.plan, name);
        const lock = acquireLock(d.runDir, d.topology, `stop of vm ${name}`);
        try {
            // Recorded first: a stop that dies half-way still reads as the user's.
            update(d.runDir, (s) => ({ userStopped: [...new Set([...(s.userStopped ?? []), name])] }));
            progress({ step: 'vm', phase: 'start', message: `stopping vm ${name}` });
            await deps.vms.stop(vm);
            progress({ step: 'vm', phase: 'done', message: `vm ${name} stopped` });
            return await guestStatus(d, vm, file);
        } finally {
            lock.release();
        }
    }

    async function exec(file: string, name: string, argv: string[], io: ExecIo, opts: ExecOptions = {}): Promise<number> {
        const d = await deployed(file, opts);
        const vm = vmOf(d.plan, name);
        if (vm.image.kind !== 'default') {
            throw new VtopoError(`vm ${name} boots its own image (${vm.image.kind}): it has no vtopo agent to run commands`,
                `use its console (vtopo console ${file} ${name}) or ssh into it`, 'no-agent');
        }
        try {
            return await deps.vms.exec(vm, argv, io, { signal: opts.signal });
        } catch (e) {
            if (e instanceof VtopoError && e.code === 'exec-unreachable') {
                const st = await guestStatus(d, vm, file);
                if (st.state !== 'running') {
                    throw new VtopoError(`vm ${name} is ${st.state}${st.reason ? ` (${st.reason})` : ''}: nothing to run the command in`,
                        st.state === 'restarting' || st.state === 'booting' ? 'wait until `vtopo status` says running' : `start it: vtopo start ${file} ${name}`, 'vm-down');
                }
            }
            throw e;
        }
    }

    async function attachConsole(file: string, name: string, opts: RuntimeOptions = {}): Promise<ConsoleSession> {
        const d = await deployed(file, opts);
        const vm = vmOf(d.plan, name);
        const lock = deps.vms.takeConsole(vm);
        return { socket: vm.consoleSocket, serialLog: vm.serialLog, release: () => lock.release() };
    }

    async function capture(file: string, port: string, sink: (chunk: Buffer) => void, opts: CaptureOptions = {}): Promise<CaptureResult> {
        const d = await deployed(file, opts);
        const t = targetOf(d.plan, port, 'capture');
        if (t.kind === 'link') {
            throw new VtopoError(`${port} is a patch link: vtopo captures ports`, `capture a port on bridge ${t.link.a} or ${t.link.b} (a guest port VM.PORT or a nic)`, 'no-such-port');
        }
        const backend = await deps.backend(t.datapath);
        if (!backend.openCapture) throw new VtopoError(`the ${t.datapath} datapath cannot capture`, 'capture a port of an embedded bridge', 'unsupported');
        if (opts.count !== undefined && opts.count <= 0) return { packets: 0, datapath: t.datapath };
        const stream = await backend.openCapture(d.plan, t.id, path.join(d.runDir, 'captures'));
        const split = new PcapSplitter(opts.count);
        let timer: NodeJS.Timeout | undefined;
        const stop = () => { void stream.stop(); };
        try {
            opts.signal?.addEventListener('abort', stop, { once: true });
            if (opts.signal?.aborted) stop();
            if (opts.durationMs !== undefined) timer = setTimeout(stop, opts.durationMs);
            opts.onStarted?.();
            for await (const chunk of stream.chunks) {
                const out = split.push(chunk);
                if (out.length) sink(out);
                if (split.full) stop();
            }
        } finally {
            if (timer) clearTimeout(timer);
            opts.signal?.removeEventListener('abort', stop);
            await stream.stop();
        }
        if (!split.headerSeen) sink(split.emptyHeader());
        return { packets: split.records, datapath: t.datapath };
    }

    async function setLink(file: string, port: string, up: boolean, opts: RuntimeOptions = {}): Promise<void> {
        const d = await deployed(file, opts);
        const t = targetOf(d.plan, port, 'link');
        const lock = acquireLock(d.runDir, d.topology, `link ${up ? 'up' : 'down'} of ${t.id}`);
        try {
            const backend = await deps.backend(t.datapath);
            if (t.kind === 'vm-port') {
                // The datapath side first: on OvS a NIC or link is refused there before anything changed.
                await backend.setLink?.(d.plan, { port: t.id }, up);
                await deps.vms.setLink(t.vm, t.port.name, up);
            } else {
                if (!backend.setLink) throw new VtopoError(`the ${t.datapath} datapath cannot take a port's carrier away`, 'use a guest port', 'unsupported');
                await backend.setLink(d.plan, t.kind === 'link' ? { link: t.id } : { port: t.id }, up);
            }
            update(d.runDir, (s) => {
                const down = new Set(s.linksDown ?? []);
                if (up) down.delete(t.id);
                else down.add(t.id);
                return { linksDown: [...down] };
            });
        } finally {
            lock.release();
        }
    }

    return {
        startVm: (file: string, vm: string, opts: RuntimeOptions = {}) => bringUp(file, vm, opts, false, 'start'),
        restartVm: (file: string, vm: string, opts: RuntimeOptions = {}) => bringUp(file, vm, opts, true, 'restart'),
        stopVm,
        exec,
        attachConsole,
        capture,
        setLink,
    };
}
