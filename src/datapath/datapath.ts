/**
 * The datapath's operations, as the control socket exposes them: bridges,
 * patch links, vhost-user ports, NIC ports, captures, status. Every op is
 * idempotent (adding what exists with the same shape is a no-op), so the
 * runtime can re-apply a plan after any crash.
 */
import { performance } from 'node:perf_hooks';
import { NetdevPort } from './ports/netdev-port.js';
import { PatchPort } from './ports/patch-port.js';
import { VhostPort } from './ports/vhost-port.js';
import { DEFAULT_IDLE_MS, Engine } from './switch/engine.js';
import { PcapWriter } from './switch/pcap.js';
import type { Port, PortReport } from './switch/port.js';
import { arenaReport } from './sys/arena.js';

export class OpError extends Error {
    constructor(message: string, readonly fix?: string) {
        super(message);
    }
}

type Args = Record<string, unknown>;

function str(a: Args, k: string): string {
    const v = a[k];
    if (typeof v !== 'string' || v.length === 0) throw new OpError(`missing or empty '${k}'`, `pass ${k} as a non-empty string`);
    return v;
}
/**
 * The object's id: `port`/`link` keys, falling back to `id` (which is also
 * the request id of the line protocol; clients should use the explicit keys).
 */
function objId(a: Args, k: 'port' | 'link'): string {
    return typeof a[k] === 'string' && a[k] ? (a[k] as string) : str(a, 'id');
}
function num(a: Args, k: string, dflt?: number): number {
    const v = a[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new OpError(`'${k}' must be a non-negative integer`);
    return v;
}

interface Link {
    id: string;
    a: PatchPort;
    b: PatchPort;
}

export interface DatapathStatusReport {
    pid: number;
    uptime_s: number;
    mode: 'poll' | 'interrupt';
    polling_queues: number;
    rounds: number;
    bridges: { name: string; mtu: number; ports: string[]; flooded: number; forwarded: number; macs: { mac: string; port: string; age_s: number }[] }[];
    links: string[];
    ports: PortReport[];
    /** Guest memory arena (sys/arena.ts): guest regions and frame buffers mapped into one buffer. */
    memory_arena: ReturnType<typeof arenaReport>;
}

export class Datapath {
    readonly engine: Engine;
    private readonly links = new Map<string, Link>();
    private readonly nics = new Set<string>();
    private readonly vhost = new Set<string>();

    constructor(private readonly log: (m: string) => void, idleMs?: number) {
        this.engine = new Engine(idleMs ?? DEFAULT_IDLE_MS, log);
    }

    async op(req: Args): Promise<unknown> {
        const op = req.op;
        switch (op) {
            case 'add-bridge':
                return this.addBridge(str(req, 'name'), num(req, 'mtu', 1500), req.aging_s === undefined ? undefined : num(req, 'aging_s') * 1000);
            case 'remove-bridge':
                return this.removeBridge(str(req, 'name'));
            case 'add-link':
                return this.addLink(objId(req, 'link'), str(req, 'a'), str(req, 'b'));
            case 'remove-link':
                return this.removeLink(objId(req, 'link'));
            case 'add-vhost-port':
                return this.addVhostPort(req);
            case 'remove-port':
                return this.removePort(objId(req, 'port'));
            case 'add-tap':
                return this.addNic(objId(req, 'port'), str(req, 'bridge'), 'tap', str(req, 'ifname'), num(req, 'queues', 1), num(req, 'mtu', 1500));
            case 'add-af-packet':
                return this.addNic(objId(req, 'port'), str(req, 'bridge'), 'af_packet', str(req, 'iface'), num(req, 'queues', 1), num(req, 'mtu', 1500));
            case 'inventory':
                return {
                    bridges: [...this.engine.bridges.keys()],
                    links: [...this.links.keys()],
                    vmPorts: [...this.vhost],
                    nics: [...this.nics],
                };
            case 'status':
                return this.status();
            case 'capture-start':
                return this.captureStart(str(req, 'port'), str(req, 'file'));
            case 'capture-stop':
                return this.captureStop(str(req, 'port'));
            case 'set-idle':
                this.engine.idleMs = num(req, 'us') / 1000;
                return {};
            case 'flush-macs':
                for (const b of this.engine.bridges.values()) b.macs.flush();
                return {};
            default:
                throw new OpError(`unknown op '${String(op)}'`, 'use one of add-bridge, remove-bridge, add-link, remove-link, add-vhost-port, add-tap, add-af-packet, remove-port, inventory, status, capture-start, capture-stop, shutdown');
        }
    }

    private bridge(name: string) {
        const b = this.engine.bridges.get(name);
        if (!b) throw new OpError(`no bridge '${name}'`, `add the bridge first (add-bridge ${name})`);
        return b;
    }

    addBridge(name: string, mtu: number, agingMs?: number): object {
        if (mtu < 68 || mtu > 65535) throw new OpError(`bridge ${name}: mtu ${mtu} out of range 68-65535`);
        const b = this.engine.bridges.get(name);
        if (b) {
            b.setMtu(mtu);
            if (agingMs !== undefined) b.macs.agingMs = agingMs;
            return { existed: true };
        }
        this.engine.addBridge(name, mtu, agingMs);
        this.log(`bridge ${name} mtu ${mtu}`);
        return { existed: false };
    }

    removeBridge(name: string): object {
        const b = this.engine.bridges.get(name);
        if (!b) return { existed: false };
        for (const l of [...this.links.values()]) if (l.a.bridge === b || l.b.bridge === b) this.removeLink(l.id);
        for (const p of [...b.ports]) this.removePort(p.id);
        this.engine.bridges.delete(name);
        this.log(`bridge ${name} removed`);
        return { existed: true };
    }

    addLink(id: string, a: string, b: string): object {
        const l = this.links.get(id);
        if (l && l.a.bridge?.name === a && l.b.bridge?.name === b) return { existed: true };
        // Refused before the old link goes: a failed op leaves what runs as it was.
        const ba = this.bridge(a);
        const bb = this.bridge(b);
        if (ba === bb) throw new OpError(`link ${id}: both ends on bridge ${a}`, 'link two different bridges');
        if (l) this.removeLink(id);
        const pa = new PatchPort(`link:${id}:${a}`);
        const pb = new PatchPort(`link:${id}:${b}`);
        pa.peer = pb;
        pb.peer = pa;
        this.engine.addPort(pa, ba);
        this.engine.addPort(pb, bb);
        this.links.set(id, { id, a: pa, b: pb });
        this.log(`link ${id} ${a} <-> ${b}`);
        return { existed: false };
    }

    removeLink(id: string): object {
        const l = this.links.get(id);
        if (!l) return { existed: false };
        this.engine.removePort(l.a);
        this.engine.removePort(l.b);
        this.links.delete(id);
        return { existed: true };
    }

    addVhostPort(req: Args): object {
        const id = objId(req, 'port');
        const bridge = this.bridge(str(req, 'bridge'));
        const socket = str(req, 'socket');
        const mode = req.mode ?? 'client';
        if (mode !== 'client' && mode !== 'server') throw new OpError(`port ${id}: mode must be client or server`);
        const queues = num(req, 'queues', 1);
        if (queues < 1 || queues > 8) throw new OpError(`port ${id}: queues ${queues} out of range 1-8`);
        const existing = this.engine.ports.get(id);
        if (existing instanceof VhostPort && existing.bridge === bridge && existing.opts.socket === socket && existing.opts.mode === mode && existing.opts.queues === queues) return { existed: true };
        if (existing) this.removePort(id);
        const slot = Math.max(2048, (bridge.maxFrame + 63) & ~63);
        const p = new VhostPort(this.engine, { id, socket, mode, queues, mac: typeof req.mac === 'string' ? req.mac : undefined, slotSize: slot, log: this.log });
        this.engine.addPort(p, bridge);
        try {
            p.open();
        } catch (e) {
            this.engine.removePort(p);
            throw new OpError(`port ${id}: cannot open ${socket}: ${(e as Error).message}`, 'check the socket directory exists and is writable');
        }
        this.vhost.add(id);
        this.log(`vhost port ${id} on ${bridge.name}: ${mode} ${socket} queues ${queues}`);
        return { existed: false };
    }

    addNic(id: string, bridgeName: string, kind: 'tap' | 'af_packet', ifname: string, queues: number, mtu: number): object {
        const bridge = this.bridge(bridgeName);
        const existing = this.engine.ports.get(id);
        if (existing instanceof NetdevPort && existing.bridge === bridge && existing.kind === kind && existing.ifname === ifname) return { existed: true };
        if (queues < 1 || queues > 16) throw new OpError(`nic ${id}: queues ${queues} out of range 1-16`);
        if (existing) this.removePort(id);
        let p: NetdevPort;
        try {
            p = new NetdevPort(this.engine, id, kind, ifname, queues, mtu);
        } catch (e) {
            throw new OpError(
                `nic ${id}: cannot open ${kind} ${ifname}: ${(e as Error).message}`,
                kind === 'tap' ? 'run as root (CAP_NET_ADMIN) and check /dev/net/tun exists' : `check interface ${ifname} exists and the datapath runs with CAP_NET_RAW`,
            );
        }
        this.engine.addPort(p, bridge);
        this.nics.add(id);
        this.log(`${kind} port ${id} (${ifname}) on ${bridge.name} queues ${queues}`);
        return { existed: false };
    }

    removePort(id: string): object {
        const p = this.engine.ports.get(id);
        if (!p) return { existed: false };
        p.capture?.close();
        p.capture = undefined;
        this.engine.removePort(p);
        this.vhost.delete(id);
        this.nics.delete(id);
        this.log(`port ${id} removed`);
        return { existed: true };
    }

    private port(id: string): Port {
        const p = this.engine.ports.get(id);
        if (!p) throw new OpError(`no port '${id}'`, 'name a port from inventory (vm.port or a nic name)');
        return p;
    }

    captureStart(id: string, file: string): object {
        const p = this.port(id);
        p.capture?.close();
        try {
            p.capture = new PcapWriter(file);
        } catch (e) {
            throw new OpError(`capture on ${id}: cannot write ${file}: ${(e as Error).message}`, 'choose a writable file path');
        }
        this.log(`capture on ${id} → ${file}`);
        return { file };
    }

    captureStop(id: string): object {
        const p = this.port(id);
        const c = p.capture;
        p.capture = undefined;
        c?.close();
        return { file: c?.file, frames: c?.frames ?? 0 };
    }

    status(): DatapathStatusReport {
        const e = this.engine;
        const now = performance.now();
        const ports = [...e.ports.values()].map((p) => p.report());
        const polling = ports.reduce((n, p) => n + p.queues.filter((q) => q.mode === 'poll').length, 0);
        return {
            pid: process.pid,
            uptime_s: Math.round((Date.now() - e.started) / 1000),
            mode: polling > 0 ? 'poll' : 'interrupt',
            polling_queues: polling,
            rounds: e.rounds,
            bridges: [...e.bridges.values()].map((b) => ({
                name: b.name,
                mtu: b.mtu,
                ports: b.ports.map((p) => p.id),
                flooded: b.flooded,
                forwarded: b.forwarded,
                macs: b.macs.entries(now).map((m) => ({ mac: m.mac, port: e.portArr[m.port]?.id ?? '?', age_s: m.age_s })),
            })),
            links: [...this.links.keys()],
            ports,
            memory_arena: arenaReport(),
        };
    }

    close(): void {
        for (const p of [...this.engine.ports.values()]) {
            p.capture?.close();
            this.engine.removePort(p);
        }
    }
}
