/**
 * The datapath's operations, as the control socket exposes them: bridges,
 * patch links, vhost-user ports, NIC ports, captures, status. Every op is
 * idempotent (adding what exists with the same shape is a no-op), so the
 * runtime can re-apply a plan after any crash.
 */
import { performance } from 'node:perf_hooks';
import {
    CONTROL_OPS,
    isControlOp,
    type ControlArgs,
    type ControlInventory,
    type ControlOp,
    type ControlRequest,
    type ControlResult,
    type DatapathStatusReport,
    type Existed,
    type VhostMode,
} from '../core/control.js';
import { NetdevPort } from './ports/netdev-port.js';
import { PatchPort } from './ports/patch-port.js';
import { currentCpu } from './sys/cpu.js';
import { VhostPort } from './ports/vhost-port.js';
import { DEFAULT_IDLE_MS, Engine } from './switch/engine.js';
import { PcapTee, PcapWriter } from './switch/pcap.js';
import type { Port } from './switch/port.js';
import { arenaReport } from './sys/arena.js';
import { ifnameOk, inRange, LIMITS } from '../core/limits.js';
import { IMPAIRMENT_KEYS, type ImpairmentPlan, type VlanPlan } from '../core/plan.js';
import { vlanError } from './switch/vlan.js';

const EMBEDDED = LIMITS.embedded;

export class OpError extends Error {
    constructor(message: string, readonly fix?: string) {
        super(message);
    }
}

/** A request as it came off the socket: parsed JSON whose fields are checked here, op by op. */
type WireRequest = { readonly [k: string]: unknown };

function str(a: WireRequest, k: string): string {
    const v = a[k];
    if (typeof v !== 'string' || v.length === 0) throw new OpError(`missing or empty '${k}'`, `pass ${k} as a non-empty string`);
    return v;
}
/**
 * The object's id: `port`/`link` keys, falling back to `id` (which is also
 * the request id of the line protocol; clients should use the explicit keys).
 */
function objId(a: WireRequest, k: 'port' | 'link'): string {
    const v = a[k];
    return typeof v === 'string' && v ? v : str(a, 'id');
}
function num(a: WireRequest, k: string, dflt?: number): number {
    const v = a[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new OpError(`'${k}' must be a non-negative integer`);
    return v;
}
function optNum(a: WireRequest, k: string): number | undefined {
    return a[k] === undefined ? undefined : num(a, k);
}
/** The optional `vlan` argument of the port ops, checked off the wire. */
function vlanArg(a: WireRequest, id: string): VlanPlan | undefined {
    const e = vlanError(a.vlan);
    if (e) throw new OpError(`port ${id}: ${e}`, "pass vlan as {mode:'access', tag} or {mode:'trunk', trunks, native?}, or leave it out");
    return (a.vlan as VlanPlan | undefined | null) ?? undefined;
}
const sameVlan = (a: VlanPlan | undefined, b: VlanPlan | undefined) => JSON.stringify(a) === JSON.stringify(b);

function vlanText(v: VlanPlan | undefined): string {
    if (!v) return '';
    return v.mode === 'access' ? ` vlan ${v.tag}` : ` trunk ${v.trunks.join(',')}${v.native ? ` native ${v.native}` : ''}`;
}

function vhostMode(a: WireRequest, id: string): VhostMode {
    const m = a.mode ?? 'client';
    if (m !== 'client' && m !== 'server') throw new OpError(`port ${id}: mode must be client or server`);
    return m;
}

const IMPAIR_MAX: Record<keyof ImpairmentPlan, number> = { delayUs: 60e6, jitterUs: 60e6, lossPct: 100, duplicatePct: 100, reorderPct: 100, rateBps: 1e12 };

function impairArg(v: unknown): ImpairmentPlan {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OpError(`'impair' must be an object`, 'pass impair as {delayUs, jitterUs, lossPct, duplicatePct, reorderPct, rateBps} (all optional)');
    const out: ImpairmentPlan = {};
    for (const [k, x] of Object.entries(v)) {
        if (!(k in IMPAIR_MAX)) throw new OpError(`impair: unknown key '${k}'`, `use ${IMPAIRMENT_KEYS.join(', ')}`);
        const max = IMPAIR_MAX[k as keyof ImpairmentPlan];
        if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > max) throw new OpError(`impair: ${k} must be a number from 0 to ${max}`);
        out[k as keyof ImpairmentPlan] = x;
    }
    if (out.jitterUs && !out.delayUs) throw new OpError('impair: jitter without delay', 'give a delay too');
    if (out.reorderPct && !out.delayUs) throw new OpError('impair: reorder without delay', 'give a delay too (reordered frames skip it)');
    return out;
}

interface Link {
    id: string;
    a: PatchPort;
    b: PatchPort;
}

export type { DatapathStatusReport };

type ServedOp = Exclude<ControlOp, 'shutdown'>;
/** One op: its arguments checked off the wire, then run. */
interface OpHandler<K extends ServedOp> {
    args(a: WireRequest): ControlArgs[K];
    run(dp: Datapath, args: ControlArgs[K]): ControlResult[K];
}
/** Every op but `shutdown`, which is the process's (main.ts), not the switch's. */
type OpTable = { readonly [K in ServedOp]: OpHandler<K> };

const noArgs = () => ({});

const OPS: OpTable = {
    'add-bridge': {
        args: (a) => ({ name: str(a, 'name'), mtu: num(a, 'mtu', 1500), aging_s: optNum(a, 'aging_s') }),
        run: (dp, a) => dp.addBridge(a.name, a.mtu ?? 1500, a.aging_s === undefined ? undefined : a.aging_s * 1000),
    },
    'remove-bridge': { args: (a) => ({ name: str(a, 'name') }), run: (dp, a) => dp.removeBridge(a.name) },
    'add-link': { args: (a) => ({ link: objId(a, 'link'), a: str(a, 'a'), b: str(a, 'b') }), run: (dp, a) => dp.addLink(a.link, a.a, a.b) },
    'remove-link': { args: (a) => ({ link: objId(a, 'link') }), run: (dp, a) => dp.removeLink(a.link) },
    'add-vhost-port': {
        args: (a) => {
            const port = objId(a, 'port');
            const bridge = str(a, 'bridge');
            const socket = str(a, 'socket');
            return { port, bridge, socket, mode: vhostMode(a, port), queues: num(a, 'queues', 1), mac: typeof a.mac === 'string' ? a.mac : undefined, vlan: vlanArg(a, port) };
        },
        run: (dp, a) => dp.addVhostPort(a),
    },
    'add-tap': {
        args: (a) => ({ port: objId(a, 'port'), bridge: str(a, 'bridge'), ifname: str(a, 'ifname'), queues: num(a, 'queues', 1), mtu: num(a, 'mtu', 1500), vlan: vlanArg(a, objId(a, 'port')) }),
        run: (dp, a) => dp.addNic(a.port, a.bridge, 'tap', a.ifname, a.queues ?? 1, a.mtu ?? 1500, a.vlan),
    },
    'add-af-packet': {
        args: (a) => ({ port: objId(a, 'port'), bridge: str(a, 'bridge'), iface: str(a, 'iface'), queues: num(a, 'queues', 1), mtu: num(a, 'mtu', 1500), vlan: vlanArg(a, objId(a, 'port')) }),
        run: (dp, a) => dp.addNic(a.port, a.bridge, 'af_packet', a.iface, a.queues ?? 1, a.mtu ?? 1500, a.vlan),
    },
    'remove-port': { args: (a) => ({ port: objId(a, 'port') }), run: (dp, a) => dp.removePort(a.port) },
    inventory: { args: noArgs, run: (dp) => dp.inventory() },
    status: { args: noArgs, run: (dp) => dp.status() },
    'capture-start': { args: (a) => ({ port: str(a, 'port'), file: str(a, 'file') }), run: (dp, a) => dp.captureStart(a.port, a.file) },
    'capture-stop': {
        args: (a) => ({ port: str(a, 'port'), ...(typeof a.file === 'string' ? { file: a.file } : {}) }),
        run: (dp, a) => dp.captureStop(a.port, a.file),
    },
    'set-impair': {
        args: (a) => (typeof a.link === 'string' && a.link ? { link: a.link, impair: impairArg(a.impair) } : { port: objId(a, 'port'), impair: impairArg(a.impair) }),
        run: (dp, a) => dp.setImpair(a),
    },
    'set-link': {
        args: (a) => {
            if (typeof a.up !== 'boolean') throw new OpError("'up' must be true or false");
            return typeof a.link === 'string' && a.link ? { link: a.link, up: a.up } : { port: str(a, 'port'), up: a.up };
        },
        run: (dp, a) => dp.setLink(a),
    },
    'set-idle': {
        args: (a) => ({ us: num(a, 'us') }),
        run: (dp, a) => {
            dp.engine.idleMs = a.us / 1000;
            return {};
        },
    },
    'flush-macs': {
        args: noArgs,
        run: (dp) => {
            for (const b of dp.engine.bridges.values()) b.macs.flush();
            return {};
        },
    },
};

export class Datapath {
    readonly engine: Engine;
    private readonly links = new Map<string, Link>();
    private readonly nics = new Set<string>();
    private readonly vhost = new Set<string>();
    /** Running captures by port id: each writes its own file. */
    private readonly captures = new Map<string, PcapWriter[]>();

    constructor(private readonly log: (m: string) => void, idleMs?: number) {
        this.engine = new Engine(idleMs ?? DEFAULT_IDLE_MS, log);
    }

    /** Runs one request of an in-process caller (tests, benches): typed by the op map. */
    op<R extends ControlRequest>(req: R): Promise<ControlResult[R['op']]> {
        return this.serve(req) as Promise<ControlResult[R['op']]>;
    }

    /** Runs one request off the control socket: its op's arguments are checked, then the op runs. */
    async serve(req: WireRequest): Promise<unknown> {
        const op = req.op;
        if (!isControlOp(op) || op === 'shutdown') throw new OpError(`unknown op '${String(op)}'`, `use one of ${CONTROL_OPS.join(', ')}`);
        // One op's handler with that op's arguments (the table's type pairs them).
        const h = OPS[op] as OpHandler<ServedOp>;
        return h.run(this, h.args(req) as never);
    }

    inventory(): ControlInventory {
        return { bridges: [...this.engine.bridges.keys()], links: [...this.links.keys()], vmPorts: [...this.vhost], nics: [...this.nics] };
    }

    private bridge(name: string) {
        const b = this.engine.bridges.get(name);
        if (!b) throw new OpError(`no bridge '${name}'`, `add the bridge first (add-bridge ${name})`);
        return b;
    }

    addBridge(name: string, mtu: number, agingMs?: number): Existed {
        if (!inRange(mtu, EMBEDDED.mtu)) throw new OpError(`bridge ${name}: mtu ${mtu} out of range ${EMBEDDED.mtu.min}-${EMBEDDED.mtu.max}`);
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

    removeBridge(name: string): Existed {
        const b = this.engine.bridges.get(name);
        if (!b) return { existed: false };
        for (const l of [...this.links.values()]) if (l.a.bridge === b || l.b.bridge === b) this.removeLink(l.id);
        for (const p of [...b.ports]) this.removePort(p.id);
        this.engine.bridges.delete(name);
        this.log(`bridge ${name} removed`);
        return { existed: true };
    }

    addLink(id: string, a: string, b: string): Existed {
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

    removeLink(id: string): Existed {
        const l = this.links.get(id);
        if (!l) return { existed: false };
        this.engine.removePort(l.a);
        this.engine.removePort(l.b);
        this.links.delete(id);
        return { existed: true };
    }

    addVhostPort(req: ControlArgs['add-vhost-port']): Existed {
        const { port: id, socket, mac } = req;
        const bridge = this.bridge(req.bridge);
        const mode = req.mode ?? 'client';
        const queues = req.queues ?? 1;
        if (!inRange(queues, EMBEDDED.portQueues)) throw new OpError(`port ${id}: queues ${queues} out of range ${EMBEDDED.portQueues.min}-${EMBEDDED.portQueues.max}`);
        const { vlan } = req;
        if (vlanError(vlan)) throw new OpError(`port ${id}: ${vlanError(vlan)}`);
        const existing = this.engine.ports.get(id);
        // Other VLAN settings change in place: the guest stays connected.
        if (existing instanceof VhostPort && existing.bridge === bridge && existing.opts.socket === socket && existing.opts.mode === mode && existing.opts.queues === queues) {
            if (!sameVlan(existing.vlanConfig, vlan)) existing.setVlan(vlan);
            return { existed: true };
        }
        if (existing) this.removePort(id);
        const slot = Math.max(2048, (bridge.maxFrame + 63) & ~63);
        const p = new VhostPort(this.engine, { id, socket, mode, queues, mac, slotSize: slot, log: this.log });
        this.engine.addPort(p, bridge);
        p.setVlan(vlan);
        try {
            p.open();
        } catch (e) {
            this.engine.removePort(p);
            throw new OpError(`port ${id}: cannot open ${socket}: ${(e as Error).message}`, 'check the socket directory exists and is writable');
        }
        this.vhost.add(id);
        this.log(`vhost port ${id} on ${bridge.name}: ${mode} ${socket} queues ${queues}${vlanText(vlan)}`);
        return { existed: false };
    }

    addNic(id: string, bridgeName: string, kind: 'tap' | 'af_packet', ifname: string, queues: number, mtu: number, vlan?: VlanPlan): Existed {
        const bridge = this.bridge(bridgeName);
        if (vlanError(vlan)) throw new OpError(`nic ${id}: ${vlanError(vlan)}`);
        const existing = this.engine.ports.get(id);
        if (existing instanceof NetdevPort && existing.bridge === bridge && existing.kind === kind && existing.ifname === ifname) {
            if (!sameVlan(existing.vlanConfig, vlan)) existing.setVlan(vlan);
            return { existed: true };
        }
        const range = EMBEDDED.nicQueues[kind];
        if (!range || !inRange(queues, range)) throw new OpError(`nic ${id}: queues ${queues} out of range ${range?.min ?? 0}-${range?.max ?? 0}`);
        if (!ifnameOk(ifname, EMBEDDED.ifname)) throw new OpError(`nic ${id}: '${ifname}' is not an interface name Linux takes (at most ${EMBEDDED.ifname.maxBytes} bytes of letters, digits, _ . -)`);
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
        p.setVlan(vlan);
        this.nics.add(id);
        this.log(`${kind} port ${id} (${ifname}) on ${bridge.name} queues ${queues}${vlanText(vlan)}`);
        return { existed: false };
    }

    removePort(id: string): Existed {
        const p = this.engine.ports.get(id);
        if (!p) return { existed: false };
        this.closeCaptures(id);
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

    /**
     * `{op:'set-impair', port|link, impair:{delayUs,…}}`: the egress impairment of
     * a port, or of both ends of a link; `{}` clears it. Checked whole before
     * anything changes.
     */
    setImpair(req: { port?: string; link?: string; impair: ImpairmentPlan }): ControlResult['set-impair'] {
        const spec = impairArg(req.impair);
        const targets: Port[] = [];
        if (typeof req.link === 'string' && req.link) {
            const l = this.links.get(req.link);
            if (!l) throw new OpError(`no link '${req.link}'`, 'name a link from inventory');
            targets.push(l.a, l.b);
        } else targets.push(this.port(req.port ?? ''));
        for (const p of targets) p.setImpair(spec, this.engine, Math.max(2048, ((p.bridge?.maxFrame ?? 1518) + 63) & ~63));
        this.log(`impair ${targets.map((p) => p.id).join(' ')}: ${JSON.stringify(spec)}`);
        return { ports: targets.map((p) => p.id) };
    }

    /** Adds a capture of port `id` into `file`; one already writing `file` is restarted. */
    captureStart(id: string, file: string): ControlResult['capture-start'] {
        const p = this.port(id);
        const list = (this.captures.get(id) ?? []).filter((w) => w.file !== file || (w.close(), false));
        try {
            list.push(new PcapWriter(file));
        } catch (e) {
            throw new OpError(`capture on ${id}: cannot write ${file}: ${(e as Error).message}`, 'choose a writable file path');
        }
        this.setCaptures(p, list);
        this.log(`capture on ${id} → ${file}`);
        return { file };
    }

    /** Stops the capture of `id` into `file` (every capture of the port when no file is named). */
    captureStop(id: string, file?: string): ControlResult['capture-stop'] {
        const p = this.port(id);
        const list = this.captures.get(id) ?? [];
        const stop = list.filter((w) => file === undefined || w.file === file);
        for (const w of stop) w.close();
        this.setCaptures(p, list.filter((w) => !stop.includes(w)));
        return { file: stop.map((w) => w.file).join(',') || undefined, frames: stop.reduce((n, w) => n + w.frames, 0) };
    }

    private setCaptures(p: Port, list: PcapWriter[]): void {
        if (list.length) this.captures.set(p.id, list);
        else this.captures.delete(p.id);
        p.capture = list.length === 0 ? undefined : list.length === 1 ? list[0] : new PcapTee(list);
    }

    private closeCaptures(id: string): void {
        for (const w of this.captures.get(id) ?? []) w.close();
        this.captures.delete(id);
        const p = this.engine.ports.get(id);
        if (p) p.capture = undefined;
    }

    /**
     * Carrier off/on (`vtopo link`): a port (`vm.port`, a NIC) or both ends
     * of a patch link (`link`: its id). A port that is down takes nothing in
     * and gets nothing out.
     */
    setLink(req: ControlArgs['set-link']): ControlResult['set-link'] {
        const up = req.up;
        let ports: Port[];
        if ('link' in req) {
            const l = this.links.get(req.link);
            if (!l) throw new OpError(`no link '${req.link}'`, `name a link from inventory: ${[...this.links.keys()].join(', ') || '(none)'}`);
            ports = [l.a, l.b];
        } else {
            ports = [this.port(req.port)];
        }
        for (const p of ports) p.linkDown = !up;
        this.log(`${ports.map((p) => p.id).join(', ')} link ${up ? 'up' : 'down'}`);
        return { ports: ports.map((p) => p.id), up };
    }

    status(): DatapathStatusReport {
        const e = this.engine;
        const now = performance.now();
        const ports = [...e.ports.values()].map((p) => p.report());
        const polling = ports.reduce((n, p) => n + p.queues.filter((q) => q.mode === 'poll').length, 0);
        const core = currentCpu();
        const busy = ports.flatMap((p) => p.queues.map((q) => q.usage_pct)).filter((u) => u !== undefined);
        return {
            ...(core !== undefined ? { core } : {}),
            ...(busy.length ? { busy_pct: Math.min(100, Math.round(busy.reduce((a, b) => a + b, 0) * 10) / 10) } : {}),
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
                macs: b.macs.entries(now).map((m) => ({ mac: m.mac, vlan: m.vlan, port: e.portArr[m.port]?.id ?? '?', age_s: m.age_s })),
            })),
            links: [...this.links.keys()],
            ports,
            memory_arena: arenaReport(),
        };
    }

    close(): void {
        for (const p of [...this.engine.ports.values()]) {
            this.closeCaptures(p.id);
            this.engine.removePort(p);
        }
    }
}

