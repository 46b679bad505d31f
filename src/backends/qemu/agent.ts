/**
 * Host side of the guest agent (guest/rootfs/vtopo-agent): one line
 * `ID COMMAND ARGS…` out over the virtio-serial chardev socket, JSON lines back;
 * answers carrying another id are stale (someone else's) and skipped.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { VmPlan } from '../../core/plan.js';

export interface AgentInterface {
    name: string;
    mac: string;
    up: boolean;
    mtu: number;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
    queues: number;
    operstate?: string;
    addrs?: string;
}

export class AgentError extends Error {
    constructor(message: string, readonly kind: 'unreachable' | 'timeout' | 'refused') {
        super(message);
        this.name = 'AgentError';
    }
}

const SAFE = /^[A-Za-z0-9_.:\-/]+$/;

export function agentRequest<T extends Record<string, unknown>>(vm: VmPlan, command: string, args: (string | number)[] = [], timeoutMs = 10_000): Promise<T & { ok: boolean; error?: string }> {
    for (const a of [command, ...args]) {
        if (!SAFE.test(String(a))) return Promise.reject(new Error(`agent argument not allowed: ${JSON.stringify(a)}`));
    }
    const id = randomBytes(4).toString('hex');
    return new Promise((resolve, reject) => {
        const sock = connect(vm.agentSocket);
        let buf = '';
        let done = false;
        const finish = (err: Error | undefined, v?: T & { ok: boolean }) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            if (err) reject(err);
            else resolve(v!);
        };
        const timer = setTimeout(() => finish(new AgentError(`agent of vm ${vm.name}: no answer to '${command}' within ${timeoutMs} ms`, 'timeout')), timeoutMs);
        sock.setEncoding('utf8');
        sock.on('connect', () => sock.write(`${id} ${[command, ...args].join(' ')}\n`));
        sock.on('error', (e: NodeJS.ErrnoException) => finish(new AgentError(`agent of vm ${vm.name} unreachable at ${vm.agentSocket}: ${e.code ?? e.message}`, 'unreachable')));
        sock.on('close', () => finish(new AgentError(`agent of vm ${vm.name}: connection closed before an answer`, 'unreachable')));
        sock.on('data', (d: string) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl).trim();
                buf = buf.slice(nl + 1);
                try {
                    const msg = JSON.parse(line);
                    if (msg && msg.id === id) finish(undefined, msg);
                } catch { /* console noise or a partial line of a stale answer */ }
            }
        });
    });
}

export async function agentHello(vm: VmPlan, timeoutMs = 5000): Promise<{ ok: boolean; vm: string; cpus: number; online_cpus: number; kernel: string; iperf3: boolean }> {
    return agentRequest(vm, 'hello', [], timeoutMs) as never;
}

export async function agentPing(vm: VmPlan, address: string, opts: { count?: number; timeoutMs?: number } = {}): Promise<{ ok: boolean; rtt_ms?: number; error?: string }> {
    const count = opts.count ?? 3;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    // The guest's ping deadline stays inside ours so its own verdict arrives.
    const deadline = Math.max(1, Math.floor(timeoutMs / 1000) - 2);
    try {
        const r = await agentRequest<{ rtt_ms?: number }>(vm, 'ping', [address, count, deadline], timeoutMs);
        return r.ok ? { ok: true, rtt_ms: r.rtt_ms } : { ok: false, error: r.error ?? 'ping failed' };
    } catch (e) {
        return { ok: false, error: (e as Error).message };
    }
}

/** COUNT echoes INTERVAL seconds apart from this guest: how many were answered, the median and the minimum round trip. */
export async function agentPingStats(vm: VmPlan, address: string, opts: { count: number; intervalS: number; deadlineS: number }): Promise<{ ok: boolean; sent?: number; received?: number; median_ms?: number | null; min_ms?: number | null; error?: string }> {
    try {
        const r = await agentRequest<{ sent?: number; received?: number; median_ms?: number | null; min_ms?: number | null }>(vm, 'pingstats', [address, opts.count, opts.intervalS, opts.deadlineS], (opts.deadlineS + 10) * 1000);
        return r.ok ? { ok: true, sent: r.sent, received: r.received, median_ms: r.median_ms, min_ms: r.min_ms } : { ok: false, error: r.error };
    } catch (e) {
        return { ok: false, error: (e as Error).message };
    }
}

export async function agentInterfaces(vm: VmPlan, opts: { timeoutMs?: number } = {}): Promise<AgentInterface[]> {
    const r = await agentRequest<{ interfaces?: AgentInterface[] }>(vm, 'ifaces', [], opts.timeoutMs ?? 10_000);
    if (!r.ok || !r.interfaces) throw new Error(`agent of vm ${vm.name}: ifaces failed: ${r.error ?? 'no data'}`);
    return r.interfaces;
}

/**
 * iperf3 client from this guest to PEER (every default guest runs `iperf3 -s`).
 * `parallel` streams; `cpu` pins the sender, which picks the guest's TX queue
 * (XPS: vCPU i → queue i) for what it sends itself; `udp` at 200 Mbit/s
 * offered, so every packet leaves from the sender's own context.
 */
/** Adds the 802.1Q sub-interface `<iface>.<vid>` with address `cidr` in the guest (tests, and trunk ports by hand). */
export async function agentVlan(vm: VmPlan, iface: string, vid: number, cidr: string, timeoutMs = 10_000): Promise<{ ok: boolean; name?: string; error?: string }> {
    return agentRequest<{ name?: string }>(vm, 'vlan', [iface, vid, cidr], timeoutMs);
}

export async function agentIperf3(vm: VmPlan, peer: string, opts: { seconds?: number; parallel?: number; cpu?: number; udp?: boolean } = {}): Promise<{ ok: boolean; mbps?: number; error?: string }> {
    const seconds = opts.seconds ?? 5;
    const args: (string | number)[] = [peer, seconds, opts.parallel ?? 1, opts.cpu ?? '-', opts.udp ? 'udp' : 'tcp'];
    try {
        const r = await agentRequest<{ mbps?: number }>(vm, 'iperf3', args, (seconds + 15) * 1000);
        return r.ok ? { ok: true, mbps: r.mbps } : { ok: false, error: r.error };
    } catch (e) {
        return { ok: false, error: (e as Error).message };
    }
}

export interface GuestQueueStats {
    queue: number;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
}

/** Per-queue counters as the guest's virtio-net driver counts them (ethtool -S). */
export async function agentQueueStats(vm: VmPlan, iface: string, opts: { timeoutMs?: number } = {}): Promise<GuestQueueStats[]> {
    const r = await agentRequest<{ queues?: GuestQueueStats[] }>(vm, 'qstats', [iface], opts.timeoutMs ?? 10_000);
    if (!r.ok || !r.queues) throw new Error(`agent of vm ${vm.name}: qstats ${iface} failed: ${r.error ?? 'no data'}`);
    return r.queues;
}
