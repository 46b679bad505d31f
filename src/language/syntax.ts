/**
 * Facts about the surface syntax that several features need (checker,
 * completion, hover, formatter): which keyword sets which property in which
 * block, and the CST leaves that belong to a node itself.
 */
import { GrammarAST, isCompositeCstNode, type AstNode, type CstNode } from 'langium';

export type BlockType = 'Host' | 'Fabric' | 'Nic' | 'Bridge' | 'Vm' | 'Port' | 'Impairment';

/** keyword → AST property, per block. Each property appears at most once in its block. */
export const BLOCK_PROPERTIES: Record<BlockType, Readonly<Record<string, string>>> = {
    Host: {
        cores: 'cores', memory: 'memory', hugepages: 'hugepages', 'poll-cores': 'pollCores', ovsdb: 'ovsdb',
        netns: 'netns', ssh: 'ssh', underlay: 'underlay', uplink: 'uplink',
    },
    Fabric: { engine: 'engine', encap: 'encap', central: 'central', 'ovn-nb': 'ovnNb', 'underlay-mtu': 'underlayMtu' },
    Nic: { driver: 'driver', queues: 'queues', rss: 'rss', mtu: 'mtu', bridge: 'bridge', vlan: 'vlan', trunk: 'trunk', 'native-vlan': 'nativeVlan' },
    Bridge: { datapath: 'datapath', mtu: 'mtu' },
    Vm: { cpus: 'cpus', memory: 'memory', host: 'host', pin: 'pin', accel: 'accel', image: 'image' },
    Port: { bridge: 'bridge', queues: 'queues', mac: 'mac', ip: 'ip', gateway: 'gateway', mtu: 'mtu', vhost: 'vhost', 'mrg-rxbuf': 'mrgRxbuf', vlan: 'vlan', trunk: 'trunk', 'native-vlan': 'nativeVlan', impair: 'impair', ring: 'ring' },
    Impairment: { delay: 'delay', jitter: 'jitter', loss: 'loss', duplicate: 'duplicate', reorder: 'reorder', rate: 'rate' },
};

export function isBlockType(type: string): type is BlockType {
    return type in BLOCK_PROPERTIES;
}

/** The property a keyword sets on a node of this type (`poll-cores` on Host → `pollCores`). */
export function propertyOfKeyword(type: string, keyword: string): string | undefined {
    return isBlockType(type) ? BLOCK_PROPERTIES[type][keyword] : undefined;
}

/** The keyword that sets a property of a block (`pollCores` → `poll-cores`). */
export function keywordOfProperty(property: string): string | undefined {
    for (const props of Object.values(BLOCK_PROPERTIES)) {
        for (const [kw, p] of Object.entries(props)) if (p === property) return kw;
    }
    return undefined;
}

/**
 * Leaves that belong to `node` itself, in text order, not those of nested
 * nodes (a VM's ports). Comments are included only when asked for.
 */
export function ownLeaves(node: AstNode, opts: { comments?: boolean } = {}): CstNode[] {
    const out: CstNode[] = [];
    const walk = (c: CstNode) => {
        if (c.astNode !== node) return;
        if (isCompositeCstNode(c)) for (const child of c.content) walk(child);
        else if (!c.hidden || opts.comments) out.push(c);
    };
    if (node.$cstNode) walk(node.$cstNode);
    return out;
}

/**
 * The keyword leaves that start a property of a block, in text order. It
 * runs for every block on every validation, so it looks at leaves without
 * asking each for its AST node (a walk up the tree) and skips nested blocks.
 */
export function propertyKeywordLeaves(node: AstNode): CstNode[] {
    const props = isBlockType(node.$type) ? BLOCK_PROPERTIES[node.$type] : undefined;
    const out: CstNode[] = [];
    const walk = (c: CstNode) => {
        if (!isCompositeCstNode(c)) return;
        for (const child of c.content) {
            if (isCompositeCstNode(child)) {
                if (child.astNode === node) walk(child);
            } else if (!child.hidden && GrammarAST.isKeyword(child.grammarSource) && child.text in props!) out.push(child);
        }
    };
    if (props && node.$cstNode) walk(node.$cstNode);
    return out;
}
