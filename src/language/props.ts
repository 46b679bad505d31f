/**
 * Block properties (`mtu 9000`, `queues 4`, `bridge br0`) are lists in the
 * AST: the grammar assigns them with `+=` so that a block repeating a line
 * keeps every value (and the generator has no "multiple assignments"
 * warning) while the checker reports the repeat as `property-duplicate`.
 * The value that counts is the last one. Read them through `prop`, never
 * as `node.mtu`, which is the whole list.
 */
import type { AstNode } from 'langium';
import type { Bridge, Fabric, Host, Nic, Port, Vm } from './generated/ast.js';

/** The properties of each block type that take one value. `rss` and `ports` add up and stay lists. */
export const SINGLE = {
    Host: ['cores', 'memory', 'hugepages', 'pollCores', 'ovsdb', 'netns', 'ssh', 'underlay', 'uplink'],
    Fabric: ['engine', 'encap', 'central', 'ovnNb', 'ovnSb', 'underlayMtu'],
    Nic: ['driver', 'queues', 'mtu', 'bridge', 'vlan', 'trunk', 'nativeVlan'],
    Bridge: ['datapath', 'mtu'],
    Vm: ['cpus', 'memory', 'host', 'pin', 'accel', 'image'],
    Port: ['bridge', 'queues', 'mac', 'ip', 'gateway', 'mtu', 'vhost', 'mrgRxbuf', 'vlan', 'trunk', 'nativeVlan', 'ring'],
} as const satisfies { Host: readonly (keyof Host)[]; Fabric: readonly (keyof Fabric)[]; Nic: readonly (keyof Nic)[]; Bridge: readonly (keyof Bridge)[]; Vm: readonly (keyof Vm)[]; Port: readonly (keyof Port)[] };

type Blocks = { Host: Host; Fabric: Fabric; Nic: Nic; Bridge: Bridge; Vm: Vm; Port: Port };
type Block = Blocks[keyof Blocks];
type SingleKey<N> = N extends { $type: infer T extends keyof typeof SINGLE } ? (typeof SINGLE)[T][number] : never;
type Item<V> = V extends readonly (infer E)[] ? E : never;

/** The value of a one-value property (its last assignment), or undefined when the block does not set it. */
export function prop<N extends Block, K extends SingleKey<N>>(node: N | undefined, key: K): Item<N[K & keyof N]> | undefined {
    const values = (node as unknown as Record<string, readonly unknown[]> | undefined)?.[key];
    return values?.[values.length - 1] as Item<N[K & keyof N]> | undefined;
}

/** Index of the assignment that counts, for diagnostics and fixes that point at a one-value property; undefined otherwise. */
export function lastIndex(node: AstNode, property: string): number | undefined {
    const keys = (SINGLE as Record<string, readonly string[]>)[node.$type];
    if (!keys?.includes(property)) return undefined;
    const values = (node as unknown as Record<string, unknown>)[property];
    return Array.isArray(values) && values.length > 0 ? values.length - 1 : undefined;
}
