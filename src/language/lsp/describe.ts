/** Resolved values for hovers: what a setting amounts to in this topology. Pure. */
import type { AstNode } from 'langium';
import type { Bridge, Host, Link, Nic, Port, Topology, Vm } from '../generated/ast.js';
import {
    bridgeDatapath, bridgeMtu, DEFAULTS, hostOf, hostPollCores, hugepagesOf, nicMtu, nicQueues, portMrgRxbuf, portMtu, portRing,
    portQueues, portVhost, vmCpus, vmMemory,
} from '../defaults.js';
import { formatSize, networkOf, parseCidr, parseCoreList, parseOvsdbRemote } from '../units.js';
import { indexTopology } from '../validation/topology-index.js';
import { prop } from '../props.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A list short enough for a hover: the first dozen, then how many more. */
const list = (items: string[], max = 12) => items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} … and ${items.length - max} more`;

function cores(text: string | number | undefined): string {
    if (text === undefined) return 'not set';
    const list = parseCoreList(text);
    return list ? `${text} → ${plural(list.length, 'core')} (${list.join(', ')})` : `${text} (invalid)`;
}

function bytes(n: number): string {
    return `${formatSize(n)} = ${n} bytes`;
}

function backing(vm: Vm): string {
    const hp = hugepagesOf(hostOf(vm.$container));
    if (!hp) return 'backed by memfd shared memory (share=on) so the datapath can map the rings';
    return `backed by ${formatSize(hp.pageSizeBytes)} hugepages (${Math.ceil(vmMemory(vm) / hp.pageSizeBytes)} pages, shared hugetlbfs file)`;
}

/** The resolved value of `property` on `node`, one line, or undefined when there is nothing to add. */
export function resolvedValue(node: AstNode, property: string): string | undefined {
    switch (node.$type) {
        case 'Host': return hostValue(node as Host, property);
        case 'Hugepages': return hostValue(node.$container as Host, 'hugepages');
        case 'TapDriver': case 'AfPacketDriver': case 'PciDriver': return nicValue(node.$container as Nic, 'driver');
        case 'DefaultImage': case 'KernelImage': case 'DiskImage': return vmValue(node.$container as Vm, 'image');
        case 'Vm': return vmValue(node as Vm, property);
        case 'Port': return portValue(node as Port, property);
        case 'Nic': return nicValue(node as Nic, property);
        case 'Bridge': return property === 'mtu' ? `MTU ${bridgeMtu(node as Bridge)}` : property === 'datapath' ? `datapath ${bridgeDatapath(node as Bridge)}` : undefined;
        default: return undefined;
    }
}

function hostValue(host: Host, property: string): string | undefined {
    switch (property) {
        case 'cores': return cores(prop(host, 'cores'));
        case 'pollCores': {
            const poll = hostPollCores(host);
            return poll.length ? `${prop(host, 'pollCores')} → ${plural(poll.length, 'poll core')} (${poll.join(', ')})` : 'none: the datapath uses one default core';
        }
        case 'memory': {
            const memory = prop(host, 'memory');
            return memory === undefined ? 'not set' : bytes(memory);
        }
        case 'ovsdb': {
            const ovsdb = prop(host, 'ovsdb');
            const socket = ovsdb === undefined ? undefined : parseOvsdbRemote(ovsdb);
            return socket ? `ovs bridges go on the existing OvS whose database listens on ${socket}` : 'not a unix:/absolute/path socket';
        }
        case 'hugepages': {
            const hp = hugepagesOf(host);
            if (!hp) return 'none: guest RAM uses memfd shared memory';
            const topo = host.$container;
            const need = indexTopology(topo).vms.reduce((s, vm) => s + vmMemory(vm), 0);
            return `${plural(hp.count, `${formatSize(hp.pageSizeBytes)} page`)} = ${bytes(hp.totalBytes)}; VMs use ${formatSize(need)} of it`;
        }
        default: return undefined;
    }
}

function vmValue(vm: Vm, property: string): string | undefined {
    switch (property) {
        case 'cpus': return plural(vmCpus(vm), 'vCPU') + (prop(vm, 'cpus') === undefined ? ' (default)' : '');
        case 'memory': return `${bytes(vmMemory(vm))}${prop(vm, 'memory') === undefined ? ' (default)' : ''}; ${backing(vm)}`;
        case 'pin': return cores(prop(vm, 'pin'));
        case 'accel': return `accel ${prop(vm, 'accel') ?? DEFAULTS.accel}`;
        case 'image': return `image ${prop(vm, 'image')?.kind ?? 'default'}`;
        default: return undefined;
    }
}

function portValue(p: Port, property: string): string | undefined {
    const b = prop(p, 'bridge')?.ref;
    switch (property) {
        case 'queues': {
            const poll = Math.max(hostPollCores(hostOf(p.$container.$container)).length, 1);
            const polling = b && bridgeDatapath(b) === 'embedded' ? 'the embedded datapath polls them from one loop' : `the datapath polls on ${plural(poll, 'core')}`;
            return `${plural(portQueues(p), 'queue pair')}${prop(p, 'queues') === undefined ? ' (default)' : ''}; ${describeVmShort(p.$container)}; ${polling}`;
        }
        case 'mtu': return `MTU ${portMtu(p)}${prop(p, 'mtu') === undefined ? ` (from bridge ${b?.name ?? '?'})` : ''}`;
        case 'vhost': return `vhost ${portVhost(p)}${prop(p, 'vhost') === undefined ? ' (default)' : ''}: ${portVhost(p) === 'client' ? 'QEMU serves the socket, the switch connects' : 'the switch serves the socket, QEMU connects'}`;
        case 'ring': return portRing(p) === 'packed'
            ? 'packed virtqueues: one descriptor ring both sides write in place (QEMU packed=on)'
            : `split virtqueues${prop(p, 'ring') === undefined ? ' (default)' : ''}: descriptor table, available and used rings`;
        case 'mrgRxbuf': return `mergeable rx buffers ${portMrgRxbuf(p) ? 'on' : 'off'}${prop(p, 'mrgRxbuf') === undefined ? ' (default)' : ''}`;
        case 'mac': return prop(p, 'mac') ? `${prop(p, 'mac')} (set explicitly)` : 'derived from the names at plan time';
        case 'ip': {
            const ip = prop(p, 'ip');
            const c = ip ? parseCidr(ip) : undefined;
            if (!c) return ip ? `${ip} (invalid)` : 'none';
            const net = networkOf(c);
            const bcast = (net | (c.prefix === 0 ? 0xffffffff : (2 ** (32 - c.prefix) - 1))) >>> 0;
            const dot = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
            return `${c.address}/${c.prefix}: network ${dot(net)}, broadcast ${dot(bcast)}`;
        }
        case 'bridge': return b ? `bridge ${b.name} (${bridgeDatapath(b)} datapath, MTU ${bridgeMtu(b)})` : undefined;
        default: return undefined;
    }
}

function nicValue(n: Nic, property: string): string | undefined {
    switch (property) {
        case 'queues': return `${plural(nicQueues(n), 'queue')}${prop(n, 'queues') === undefined ? ' (default)' : ''}`;
        case 'mtu': return `MTU ${nicMtu(n)}${prop(n, 'mtu') === undefined ? ' (from its bridge)' : ''}`;
        case 'rss': return n.rss.length ? `hash on ${n.rss.join(', ')}` : 'no rss fields';
        case 'driver': {
            const driver = prop(n, 'driver');
            return driver ? `driver ${driver.kind}` : 'no driver';
        }
        default: return undefined;
    }
}

function describeVmShort(vm: Vm): string {
    return `vm ${vm.name} has ${plural(vmCpus(vm), 'vCPU')}`;
}

/** A few lines summarising a declared thing, for hovers on its name or on references to it. */
export function describeDeclaration(node: AstNode): string | undefined {
    switch (node.$type) {
        case 'Host': {
            const h = node as Host;
            const hp = hugepagesOf(h);
            const poll = hostPollCores(h);
            const hCores = prop(h, 'cores'), hMemory = prop(h, 'memory');
            return `**host** — ${hCores === undefined ? 'cores not limited' : `cores ${cores(hCores)}`}, memory ${hMemory === undefined ? 'not limited' : formatSize(hMemory)}` +
                `, ${hp ? `hugepages ${hp.count} × ${formatSize(hp.pageSizeBytes)}` : 'no hugepages'}, ${poll.length ? `poll-cores ${poll.join(',')}` : 'no poll-cores'}` +
                `${prop(h, 'ovsdb') !== undefined ? `, OvS database ${prop(h, 'ovsdb')}` : ''}.`;
        }
        case 'Link': {
            const l = node as Link;
            const topo = l.$container;
            const seg = topo && l.a?.ref ? indexTopology(topo).segmentOf.get(l.a.ref) : undefined;
            const joined = topo && seg !== undefined ? indexTopology(topo).bridges.filter((b) => indexTopology(topo).segmentOf.get(b) === seg).map((b) => b.name) : [];
            return `**link ${l.a?.$refText ?? '?'} ${l.b?.$refText ?? '?'}** — patch port pair; the L2 segment now spans ${joined.length ? joined.join(', ') : '?'}.`;
        }
        case 'Topology': {
            const t = node as Topology;
            const idx = indexTopology(t);
            return `**topology ${t.name}** — ${plural(idx.vms.length, 'VM')}, ${plural(idx.bridges.length, 'bridge')}, ${plural(idx.nics.length, 'NIC')}, ${plural(idx.links.length, 'link')}.`;
        }
        case 'Vm': {
            const vm = node as Vm;
            const ports = vm.ports.map((p) => `${p.name} → ${prop(p, 'bridge')?.ref?.name ?? '?'} (${plural(portQueues(p), 'queue')}${prop(p, 'ip') ? `, ${prop(p, 'ip')}` : ''})`);
            return `**vm ${vm.name}** — QEMU guest with ${plural(vmCpus(vm), 'vCPU')}, ${formatSize(vmMemory(vm))} RAM ${backing(vm)}; accel ${prop(vm, 'accel') ?? DEFAULTS.accel}, image ${prop(vm, 'image')?.kind ?? 'default'}.` +
                (ports.length ? `\n\nPorts: ${ports.join('; ')}` : '\n\nNo ports.');
        }
        case 'Port': {
            const p = node as Port;
            const b = prop(p, 'bridge')?.ref;
            return `**port ${p.$container.name}.${p.name}** — virtio-net device on a vhost-user socket to bridge ${b?.name ?? '?'} (${b ? bridgeDatapath(b) : '?'}): ` +
                `${plural(portQueues(p), 'queue pair')}, MTU ${portMtu(p)}, vhost ${portVhost(p)}, mrg-rxbuf ${portMrgRxbuf(p) ? 'on' : 'off'}, ${portRing(p)} ring` +
                `${prop(p, 'mac') ? `, MAC ${prop(p, 'mac')}` : ''}${prop(p, 'ip') ? `, IP ${prop(p, 'ip')}` : ''}.`;
        }
        case 'Bridge': {
            const b = node as Bridge;
            const topo = b.$container;
            const idx = topo ? indexTopology(topo) : undefined;
            const ports = idx?.ports.filter((p) => prop(p, 'bridge')?.ref === b).map((p) => `${p.$container.name}.${p.name}`) ?? [];
            const nics = idx?.nics.filter((n) => prop(n, 'bridge')?.ref === b).map((n) => `nic ${n.name}`) ?? [];
            const links = idx?.links.filter((l) => l.a?.ref === b || l.b?.ref === b).map((l) => (l.a?.ref === b ? l.b?.ref?.name : l.a?.ref?.name) ?? '?') ?? [];
            const attached = [...ports, ...nics];
            return `**bridge ${b.name}** — L2 learning bridge on the ${bridgeDatapath(b)} datapath, MTU ${bridgeMtu(b)}.` +
                `\n\nAttached: ${attached.length ? list(attached) : 'nothing'}${links.length ? `; linked to ${list(links)}` : ''}.`;
        }
        case 'Nic': {
            const n = node as Nic;
            const driver = prop(n, 'driver');
            const drv = driver ? (driver.kind === 'af_packet' ? `af_packet "${driver.iface}"` : driver.kind === 'pci' ? `pci "${driver.address}"` : 'tap') : 'no driver';
            return `**nic ${n.name}** — ${drv} on bridge ${prop(n, 'bridge')?.ref?.name ?? '?'}: ${plural(nicQueues(n), 'queue')}, ` +
                `${n.rss.length ? `RSS on ${n.rss.join(' ')}` : 'no RSS fields'}, MTU ${nicMtu(n)}.`;
        }
        default: return undefined;
    }
}
