/**
 * The embedded datapath backend: runs `vtopo datapath` (the TypeScript
 * vhost-user switch) as a detached process per topology and drives it over
 * its control socket. Everything is found again from the plan (control
 * socket, pidfile), so every method works from a fresh process.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { ControlArgs, ControlOp, ControlResult, DatapathStatusReport, PortReport } from '../../core/control.js';
import { ControlError, controlRequest } from '../../datapath/control-client.js';
import type { BridgePlan, EmbeddedDatapathPlan, ImpairmentPlan, LinkPlan, NicPlan, Plan, VmPortPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { alive, isOurs, readPidFile, sleep, terminate, waitGone } from '../../host/procs.js';
import { selfExecArgv } from '../../host/self-exec.js';
import type { DatapathStatus, LinkStatus, PollerStatus, PortStatus, QueueStatus } from '../../core/status.js';
import type { DatapathBackend, DatapathInventory, DatapathSnapshot, ImpairTarget } from '../types.js';

function dpPlan(plan: Plan): EmbeddedDatapathPlan {
    const d = plan.datapaths.embedded;
    if (!d) throw new VtopoError(`topology ${plan.topology} has no embedded datapath in its plan`, 'declare a bridge with `datapath embedded`', 'no-datapath');
    return d;
}

function logTail(file: string, lines = 15): string {
    try {
        return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
        return '';
    }
}

async function req<Op extends ControlOp>(plan: Plan, op: Op, args: ControlArgs[Op], timeoutMs?: number): Promise<ControlResult[Op]> {
    const d = dpPlan(plan);
    try {
        return await controlRequest(d.controlSocket, op, args, timeoutMs);
    } catch (e) {
        if (e instanceof ControlError) {
            throw new VtopoError(
                `embedded datapath: ${e.message}`,
                e.fix ?? (e.unreachable ? `redeploy (vtopo deploy ${plan.sourceFile}); its log is ${d.logFile}` : `see ${d.logFile}`),
                e.unreachable ? 'datapath-down' : 'datapath-op',
            );
        }
        throw e;
    }
}

async function answers(plan: Plan): Promise<boolean> {
    const d = plan.datapaths.embedded;
    if (!d || !existsSync(d.controlSocket)) return false;
    try {
        await controlRequest(d.controlSocket, 'inventory', {}, 3000);
        return true;
    } catch {
        return false;
    }
}

function queueStatus(q: PortReport['queues'][number], core: number | undefined): QueueStatus {
    // An enabled vhost queue is in the loop's poll set or armed on its kick fd: either way served.
    const served = q.enabled !== undefined ? { enabled: q.enabled, polled: q.enabled } : {};
    return {
        queue: q.queue,
        rx_packets: q.rx_packets,
        tx_packets: q.tx_packets,
        rx_bytes: q.rx_bytes,
        tx_bytes: q.tx_bytes,
        drops: q.drops,
        kicks: q.kicks,
        calls: q.calls,
        mode: q.mode,
        mode_switches: q.mode_switches,
        ...(q.avail_idx !== undefined ? { avail_idx: q.avail_idx } : {}),
        ...(q.used_idx !== undefined ? { used_idx: q.used_idx } : {}),
        ...(core !== undefined && q.enabled !== false ? { core } : {}),
        ...served,
        ...(q.usage_pct !== undefined ? { usage_pct: q.usage_pct } : {}),
    };
}

/** A datapath port report as the shared PortStatus (rx = received by the switch from the port). */
export function toPortStatus(plan: Plan, r: PortReport, core?: number): PortStatus {
    const vmPort = plan.vms.flatMap((v) => v.ports).find((p) => p.id === r.id);
    const s: PortStatus = {
        id: r.id,
        port: vmPort ? vmPort.name : r.id,
        bridge: r.bridge,
        datapath: 'embedded',
        link: r.link,
        rx_packets: r.rx_packets,
        tx_packets: r.tx_packets,
        rx_bytes: r.rx_bytes,
        tx_bytes: r.tx_bytes,
        drops: r.drops,
        drops_by_reason: r.drops_by_reason,
        queues: r.queues.map((q) => queueStatus(q, core)),
    };
    if (vmPort) s.vm = vmPort.vm;
    if (r.vhost) s.vhost = r.vhost;
    if (r.error) s.error = r.error;
    if (r.features) s.features = r.features;
    if (r.num_of_vrings !== undefined) s.num_of_vrings = r.num_of_vrings;
    if (r.impair && r.impair_counters) s.impair = { set: r.impair, ...r.impair_counters };
    if (r.admin) {
        s.admin = r.admin;
        s.link = 'down';
    }
    return s;
}

/**
 * The plan's links from the patch ports' reports: the end on bridge A
 * transmits what leaves A for B, so its counters and its egress impairment
 * are the A → B direction.
 */
function linkStatuses(plan: Plan, reports: PortReport[]): LinkStatus[] {
    const ends = new Map(reports.filter((r) => r.kind === 'patch').map((r) => [r.id, r]));
    const out: LinkStatus[] = [];
    for (const l of plan.links) {
        const dirs: [string, string][] = [[l.a, l.b], [l.b, l.a]];
        const found = dirs.map(([from]) => ends.get(`link:${l.id}:${from}`));
        if (!found[0] && !found[1]) continue;
        const admin = found.some((r) => r?.admin);
        out.push({
            id: l.id, datapath: 'embedded', link: admin || found.some((r) => !r || r.link === 'down') ? 'down' : 'up', ...(admin ? { admin: 'down' as const } : {}),
            directions: dirs.map(([from, to], i) => {
                const r = found[i];
                return {
                    from, to, packets: r?.tx_packets ?? 0, bytes: r?.tx_bytes ?? 0, drops: r?.drops ?? 0,
                    ...(r?.impair && r.impair_counters ? { impair: { set: r.impair, ...r.impair_counters } } : {}),
                };
            }),
        });
    }
    return out;
}

function absentPorts(plan: Plan): PortStatus[] {
    const out: PortStatus[] = [];
    for (const vm of plan.vms) {
        for (const p of vm.ports) {
            if (p.datapath !== 'embedded') continue;
            out.push({ id: p.id, vm: p.vm, port: p.name, bridge: p.bridge, datapath: 'embedded', link: 'down', vhost: 'disconnected', rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [] });
        }
    }
    for (const n of plan.nics) {
        if (n.datapath !== 'embedded') continue;
        out.push({ id: n.name, port: n.name, bridge: n.bridge, datapath: 'embedded', link: 'down', rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, queues: [] });
    }
    return out;
}

export const embeddedBackend: DatapathBackend = {
    kind: 'embedded',

    running: answers,

    async start(plan: Plan): Promise<void> {
        if (await answers(plan)) return;
        const d = dpPlan(plan);
        for (const f of [d.controlSocket, d.pidFile, d.logFile]) mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
        // A previous instance that no longer answers (hung, or killed mid-way) goes first.
        const stale = readPidFile(d.pidFile);
        if (stale && isOurs(stale, d.controlSocket)) await terminate(stale, d.controlSocket);
        rmSync(d.controlSocket, { force: true });
        const [cmd, ...pre] = selfExecArgv();
        const args = [...pre, 'datapath', '--control', d.controlSocket, '--pidfile', d.pidFile, '--log', d.logFile];
        if (d.pollCores.length) args.push('--poll-cores', d.pollCores.join(','));
        const out = openSync(d.logFile, 'a', 0o600);
        let child;
        try {
            child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
        } finally {
            closeSync(out);
        }
        child.unref();
        let exited: number | string | undefined;
        child.once('exit', (code, sig) => (exited = code ?? sig ?? 'exit'));
        const end = Date.now() + 20_000;
        while (Date.now() < end) {
            if (exited !== undefined) break;
            if (await answers(plan)) return;
            await sleep(100);
        }
        if (child.pid && exited === undefined) await terminate(child.pid, d.controlSocket, 1000);
        throw new VtopoError(
            `the embedded datapath did not come up (${exited !== undefined ? `exited: ${exited}` : 'no answer within 20 s'}) — last log lines:\n${logTail(d.logFile)}`,
            `see ${d.logFile}; the datapath needs koffi (npm install) and a writable ${path.dirname(d.controlSocket)}`,
            'datapath-start',
        );
    },

    async stop(plan: Plan): Promise<void> {
        const d = plan.datapaths.embedded;
        if (!d) return;
        const pid = readPidFile(d.pidFile);
        if (existsSync(d.controlSocket)) {
            try {
                await controlRequest(d.controlSocket, 'shutdown', {}, 3000);
            } catch { /* not answering: terminate below */ }
        }
        if (pid && isOurs(pid, d.controlSocket)) {
            if (!(await waitGone(pid, 3000))) await terminate(pid, d.controlSocket);
        }
        if (!pid || !alive(pid) || !isOurs(pid, d.controlSocket)) {
            rmSync(d.controlSocket, { force: true });
            rmSync(d.pidFile, { force: true });
        }
        // Server-mode vhost sockets are ours (the datapath listened on them).
        for (const vm of plan.vms) for (const p of vm.ports) if (p.datapath === 'embedded' && p.vhostMode === 'server') rmSync(p.socketPath, { force: true });
    },

    inventory(plan: Plan): Promise<DatapathInventory> {
        return req(plan, 'inventory', {});
    },

    async addBridge(plan: Plan, bridge: BridgePlan): Promise<void> {
        await req(plan, 'add-bridge', { name: bridge.name, mtu: bridge.mtu });
    },

    async removeBridge(plan: Plan, name: string): Promise<void> {
        await req(plan, 'remove-bridge', { name });
    },

    async addLink(plan: Plan, link: LinkPlan): Promise<void> {
        await req(plan, 'add-link', { link: link.id, a: link.a, b: link.b });
        // Always sent: a link made again by an existing datapath must not keep an impairment the plan dropped.
        await req(plan, 'set-impair', { link: link.id, impair: link.impair ?? {} });
    },

    async removeLink(plan: Plan, id: string): Promise<void> {
        await req(plan, 'remove-link', { link: id });
    },

    async addVmPort(plan: Plan, port: VmPortPlan): Promise<void> {
        mkdirSync(path.dirname(port.socketPath), { recursive: true, mode: 0o700 });
        await req(plan, 'add-vhost-port', {
            port: port.id,
            bridge: port.bridge,
            socket: port.socketPath,
            mode: port.vhostMode,
            queues: port.queues,
            mac: port.mac,
            mtu: port.mtu,
            ...(port.vlan ? { vlan: port.vlan } : {}),
        });
        await req(plan, 'set-impair', { port: port.id, impair: port.impair ?? {} });
    },

    async setImpair(plan: Plan, target: ImpairTarget, impair: ImpairmentPlan): Promise<void> {
        await req(plan, 'set-impair', { ...target, impair });
    },

    async removeVmPort(plan: Plan, id: string): Promise<void> {
        await req(plan, 'remove-port', { port: id });
    },

    async addNic(plan: Plan, nic: NicPlan): Promise<void> {
        const drv = nic.driver;
        const vlan = nic.vlan ? { vlan: nic.vlan } : {};
        if (drv.kind === 'tap') await req(plan, 'add-tap', { port: nic.name, bridge: nic.bridge, ifname: drv.ifname, queues: nic.queues, mtu: nic.mtu, ...vlan });
        else if (drv.kind === 'af_packet') await req(plan, 'add-af-packet', { port: nic.name, bridge: nic.bridge, iface: drv.iface, queues: nic.queues, mtu: nic.mtu, ...vlan });
        else
            throw new VtopoError(
                `nic ${nic.name}: the embedded datapath cannot drive PCI device ${drv.address}`,
                `use \`driver af_packet "<ifname>"\` for the embedded datapath, or put bridge ${nic.bridge} on \`datapath ovs\``,
                'nic-driver',
            );
    },

    async removeNic(plan: Plan, name: string): Promise<void> {
        await req(plan, 'remove-port', { port: name });
    },

    async snapshot(plan: Plan): Promise<DatapathSnapshot> {
        const d = dpPlan(plan);
        let st: DatapathStatusReport;
        try {
            st = await controlRequest(d.controlSocket, 'status', {}, 5000);
        } catch (e) {
            const pid = readPidFile(d.pidFile);
            const datapath: DatapathStatus = { kind: 'embedded', running: false, error: `${(e as Error).message}${logTail(d.logFile, 3) ? ` (log: ${d.logFile})` : ''}` };
            if (pid && isOurs(pid, d.controlSocket)) datapath.pid = pid;
            return { datapath, ports: absentPorts(plan) };
        }
        const datapath: DatapathStatus = { kind: 'embedded', running: true, pid: st.pid, mode: st.mode, uptime_s: st.uptime_s };
        const ports = st.ports.filter((p) => p.kind !== 'patch').map((p) => toPortStatus(plan, p, st.core));
        const links = linkStatuses(plan, st.ports);
        // One poll loop serves every queue: the process's main thread, on whichever poll-core it runs.
        const pollers: PollerStatus[] = st.core === undefined ? [] : [{
            datapath: 'embedded', core: st.core, ...(st.busy_pct !== undefined ? { busy_pct: st.busy_pct } : {}),
            queues: ports.flatMap((p) => p.queues.filter((q) => q.polled).map((q) => `${p.id}:${q.queue}`)),
        }];
        return { datapath, ports, ...(links.length ? { links } : {}), ...(pollers.length ? { pollers } : {}) };
    },

    async setLink(plan, target, up) {
        await req(plan, 'set-link', { ...target, up });
    },

    async openCapture(plan, portId, workDir) {
        mkdirSync(workDir, { recursive: true, mode: 0o700 });
        const file = path.join(workDir, `${portId}.${process.pid}.${Date.now()}.pcap`);
        await req(plan, 'capture-start', { port: portId, file });
        let stopped = false;
        return {
            chunks: tailFile(file, () => stopped),
            async stop() {
                if (stopped) return;
                // The datapath flushes and closes the file before it answers.
                await req(plan, 'capture-stop', { port: portId, file }).catch(() => undefined);
                stopped = true;
            },
        };
    },
};

/** The bytes of a file another process appends to, as they come, until `done()` and the end is read; then removes it. */
async function* tailFile(file: string, done: () => boolean): AsyncGenerator<Buffer> {
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(1 << 16);
    let at = 0;
    try {
        for (;;) {
            const last = done();
            const n = readSync(fd, buf, 0, buf.length, at);
            if (n > 0) {
                at += n;
                yield Buffer.from(buf.subarray(0, n));
                continue;
            }
            if (last) return;
            await sleep(50);
        }
    } finally {
        closeSync(fd);
        rmSync(file, { force: true });
    }
}

/** Mirrors a port's frames (both directions) into a pcap file until stopCapture. */
export async function startCapture(plan: Plan, portId: string, file: string): Promise<void> {
    await req(plan, 'capture-start', { port: portId, file: path.resolve(file) });
}

/** Stops a capture; returns the file and how many frames it holds. */
export async function stopCapture(plan: Plan, portId: string): Promise<{ file?: string; frames: number }> {
    return req(plan, 'capture-stop', { port: portId });
}

export default embeddedBackend;
