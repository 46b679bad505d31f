/**
 * The embedded datapath's control protocol: for each op, the arguments the
 * client sends and the result the datapath answers. The client
 * (datapath/control-client.ts) and the server (datapath/datapath.ts) are
 * both typed from ControlOps, so a change on one side that the other does
 * not follow is a compile error. On the wire: one JSON line per request,
 * `{id, op, ...args}`, and one per reply, `{id, ok, result | error}`.
 */

import type { QueueStatus } from './status.js';
import type { ImpairmentPlan, VlanPlan } from './plan.js';

export type VhostMode = 'client' | 'server';

/** What a port's egress impairment qdisc did since it was first set (datapath/ports/netem.ts). */
export interface ImpairCounters {
    /** Frames that waited in the delay line. */
    delayed: number;
    dropped_loss: number;
    /** Dropped because the qdisc held its limit of frames (the rate queue fills first). */
    dropped_limit: number;
    duplicated: number;
    /** Frames that left ahead of a frame that came before them (reorder, jitter). */
    reordered: number;
    /** Frames held now. */
    backlog: number;
}

/** Adds are idempotent: adding what exists with the same shape answers existed: true. */
export interface Existed {
    existed: boolean;
}

/** The counters a queue's status shows, as the datapath reports them, plus what only the datapath knows. */
export interface QueueCounters extends Pick<QueueStatus, 'queue' | 'rx_packets' | 'tx_packets' | 'rx_bytes' | 'tx_bytes' | 'drops'
    | 'kicks' | 'calls' | 'mode' | 'mode_switches' | 'avail_idx' | 'used_idx'> {
    /** Egress backlog (pfifo) depth now. */
    backlog?: number;
    /** Frames that went through the backlog (guest RX ring full when they came), since the port was added. */
    backlogged?: number;
    /** The guest enabled both rings of the pair (a guest with fewer vCPUs than queues leaves some off). */
    enabled?: boolean;
    /** Share of the poll loop's time spent on this queue, %, between the last two samples (≥ 1 s apart). */
    usage_pct?: number;
}

/** The raw status the datapath process reports for a port. */
export interface PortReport {
    id: string;
    kind: 'vhost' | 'tap' | 'af_packet' | 'patch';
    bridge: string;
    link: 'up' | 'down';
    vhost?: 'connected' | 'connecting' | 'waiting' | 'disconnected' | 'failed';
    socket?: string;
    mode?: VhostMode;
    error?: string;
    rx_packets: number;
    tx_packets: number;
    rx_bytes: number;
    tx_bytes: number;
    drops: number;
    drops_by_reason: Record<string, number>;
    queues: QueueCounters[];
    features?: string[];
    num_of_vrings?: number;
    connects?: number;
    capture?: string;
    /** The egress impairment set on the port, and what it did. */
    impair?: ImpairmentPlan;
    impair_counters?: ImpairCounters;
    /** Present when `vtopo link … down` took the carrier away. */
    admin?: 'down';
    /** The port's 802.1Q settings; absent: every VLAN, untagged = VLAN 0. */
    vlan?: VlanPlan;
}

/** Guest memory arena: guest regions and frame buffers mapped into one buffer (null when none is in use). */
export interface ArenaReport {
    size_bytes: number;
    used_bytes: number;
    frame_buffer_bytes: number;
    mappings: number;
}

export interface DatapathStatusReport {
    pid: number;
    uptime_s: number;
    mode: 'poll' | 'interrupt';
    polling_queues: number;
    rounds: number;
    bridges: { name: string; mtu: number; ports: string[]; flooded: number; forwarded: number; macs: { mac: string; vlan: number; port: string; age_s: number }[] }[];
    links: string[];
    ports: PortReport[];
    /** The CPU the poll loop (the datapath's main thread) last ran on, from /proc/self/stat. */
    core?: number;
    /** Share of the last sampled interval the poll loop spent in busy polls, % (sum over queues). */
    busy_pct?: number;
    memory_arena: ArenaReport | null;
}

export interface ControlInventory {
    bridges: string[];
    links: string[];
    vmPorts: string[];
    nics: string[];
}

type NoArgs = Record<never, never>;

/** Every op: its arguments and its result. */
export interface ControlOps {
    'add-bridge': { args: { name: string; mtu?: number; aging_s?: number }; result: Existed };
    /** Its ports and links go too. */
    'remove-bridge': { args: { name: string }; result: Existed };
    'add-link': { args: { link: string; a: string; b: string }; result: Existed };
    'remove-link': { args: { link: string }; result: Existed };
    'add-vhost-port': { args: { port: string; bridge: string; socket: string; mode?: VhostMode; queues?: number; mac?: string; mtu?: number; vlan?: VlanPlan }; result: Existed };
    'add-tap': { args: { port: string; bridge: string; ifname: string; queues?: number; mtu?: number; vlan?: VlanPlan }; result: Existed };
    'add-af-packet': { args: { port: string; bridge: string; iface: string; queues?: number; mtu?: number; vlan?: VlanPlan }; result: Existed };
    'remove-port': { args: { port: string }; result: Existed };
    inventory: { args: NoArgs; result: ControlInventory };
    status: { args: NoArgs; result: DatapathStatusReport };
    'capture-start': { args: { port: string; file: string }; result: { file: string } };
    /** Without a file: every capture of the port. */
    'capture-stop': { args: { port: string; file?: string }; result: { file?: string; frames: number } };
    /** A port's egress impairment (towards its guest), or both ends of a link's; `impair: {}` clears it, in place. */
    'set-impair': { args: { port?: string; link?: string; impair: ImpairmentPlan }; result: { ports: string[] } };
    /** Carrier off/on (`vtopo link`): a port, or both ends of a patch link. */
    'set-link': { args: ({ port: string } | { link: string }) & { up: boolean }; result: { ports: string[]; up: boolean } };
    /** Busy-poll time before a queue sleeps on kicks. */
    'set-idle': { args: { us: number }; result: NoArgs };
    'flush-macs': { args: NoArgs; result: NoArgs };
    /** Answers, then the process exits. */
    shutdown: { args: NoArgs; result: NoArgs };
}

export type ControlOp = keyof ControlOps;
export type ControlArgs = { [K in ControlOp]: ControlOps[K]['args'] };
export type ControlResult = { [K in ControlOp]: ControlOps[K]['result'] };
/** A request as the server receives it, for in-process callers: the op and its arguments. */
export type ControlRequest = { [K in ControlOp]: { op: K } & ControlArgs[K] }[ControlOp];

const opNames: Record<ControlOp, true> = {
    'add-bridge': true,
    'remove-bridge': true,
    'add-link': true,
    'remove-link': true,
    'add-vhost-port': true,
    'add-tap': true,
    'add-af-packet': true,
    'remove-port': true,
    inventory: true,
    status: true,
    'capture-start': true,
    'capture-stop': true,
    'set-impair': true,
    'set-link': true,
    'set-idle': true,
    'flush-macs': true,
    shutdown: true,
};
/** The op names (all of ControlOps: the record above makes a missing one a compile error). */
export const CONTROL_OPS = Object.keys(opNames) as ControlOp[];

export const isControlOp = (op: unknown): op is ControlOp => typeof op === 'string' && Object.hasOwn(opNames, op);
