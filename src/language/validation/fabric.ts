/** Rules of topologies on several hosts joined by a `fabric` (issue 20). */
import type { ValidationChecks } from 'langium';
import type { Fabric, Host, Topology, VtopoAstType } from '../generated/ast.js';
import { bridgeDatapath, bridgeMtu, isLocalHost, vmHost } from '../defaults.js';
import { networkOf, parseCidr } from '../units.js';
import { prop } from '../props.js';
import { ENCAP_OVERHEAD } from '../../core/fabric.js';
import { describe, lineOf, report } from './report.js';
import { indexTopology } from './topology-index.js';

function fabricOf(topo: Topology): Fabric | undefined {
    return topo.elements.find((e): e is Fabric => e.$type === 'Fabric');
}

export const fabricChecks: ValidationChecks<VtopoAstType> = {
    Topology(topo: Topology, accept) {
        const idx = indexTopology(topo);
        const fabric = fabricOf(topo);
        const named = idx.hosts.filter((h): h is Host & { name: string } => !!h.name);
        const locals = named.filter(isLocalHost);
        for (const extra of locals.slice(1)) {
            report(accept, 'host-local-duplicate',
                `host ${extra.name} and host ${locals[0].name} (line ${lineOf(locals[0])}) both say they are this machine (neither \`netns\` nor \`ssh\`); ` +
                `only one can be. Add \`netns\` to simulate it here, or \`ssh "user@addr"\` for a remote machine.`, extra, { property: 'name' });
        }
        if (!fabric) return;
        for (const h of named) {
            const uplink = prop(h, 'uplink');
            if (prop(h, 'ssh') !== undefined && !uplink) {
                report(accept, 'ssh-host-uplink-missing',
                    `host ${h.name} is reached over ssh but names no uplink: vtopo must know which of its interfaces carries the underlay ${prop(h, 'underlay') ?? ''} ` +
                    `(OvS takes that interface over and moves the address onto its br-phy). Add \`uplink af_packet "IFACE"\`.`, h, { property: 'name' });
            }
            if (prop(h, 'netns') !== undefined && uplink) {
                report(accept, 'netns-host-uplink',
                    `host ${h.name} is simulated in a namespace, whose underlay vtopo builds from veths; an uplink (${uplink.iface}) has no place there. Remove \`uplink\`.`,
                    h, { property: 'uplink' });
            }
        }
        for (const nic of topo.elements) {
            if (nic.$type !== 'Nic') continue;
            report(accept, 'fabric-nic-unsupported',
                `${describe(nic)}: a host NIC under a fabric is not supported yet (OVN reaches outside networks through a gateway router, which vtopo does not set up yet); ` +
                `leave the nic out, or deploy it in a single-host topology of its own.`, nic, { property: 'name' });
        }
        for (const p of idx.ports) {
            const what = p.impair?.length ? 'an impair block' : prop(p, 'vlan') !== undefined || prop(p, 'trunk') !== undefined || prop(p, 'nativeVlan') !== undefined ? 'VLAN settings' : undefined;
            if (!what) continue;
            report(accept, 'fabric-port-unsupported',
                `${describe(p)} has ${what}, which a port under a fabric cannot carry yet (its OVN logical switch port would silently ignore it); ` +
                `remove it, or deploy that part in a single-host topology of its own.`, p, { property: 'name' });
        }
        for (const link of idx.links) {
            report(accept, 'link-under-ovn',
                `\`link ${link.a?.$refText} ${link.b?.$refText}\` joins two bridges, but under OVN each bridge is a logical switch and switches are joined at L3; ` +
                `use a \`router\` with a port on each bridge instead.`, link);
        }
        const encap = (prop(fabric, 'encap') ?? 'geneve') as keyof typeof ENCAP_OVERHEAD;
        const underlayMtu = prop(fabric, 'underlayMtu') ?? 1500;
        const hostsOfBridge = new Map<string, Set<Host | undefined>>();
        for (const vm of idx.vms) for (const p of vm.ports) {
            const b = prop(p, 'bridge')?.ref;
            if (b) hostsOfBridge.set(b.name, (hostsOfBridge.get(b.name) ?? new Set()).add(vmHost(vm)));
        }
        for (const b of idx.bridges) {
            if (bridgeDatapath(b) !== 'ovs') {
                const why = (hostsOfBridge.get(b.name)?.size ?? 0) > 1 ? 'has ports on several hosts, so it' : 'is under a fabric, where every bridge';
                report(accept, 'fabric-bridge-not-ovs',
                    `${describe(b)} ${why} becomes an OVN logical switch, which OvS carries; add \`datapath ovs\` to it.`,
                    b, { property: prop(b, 'datapath') ? 'datapath' : 'name' });
            }
            const need = bridgeMtu(b) + ENCAP_OVERHEAD[encap];
            if (need > underlayMtu) {
                report(accept, 'underlay-mtu-short',
                    `${describe(b)} carries ${bridgeMtu(b)}-byte frames, which with ${encap}'s ${ENCAP_OVERHEAD[encap]} bytes need an underlay MTU of ${need}, ` +
                    `but the fabric's underlay-mtu is ${underlayMtu}; lower the bridge mtu to ${underlayMtu - ENCAP_OVERHEAD[encap]} or raise underlay-mtu to ${need}.`,
                    b, { property: prop(b, 'mtu') === undefined ? 'name' : 'mtu' });
            }
        }
        const seen = new Map<string, Host>();
        let subnet: { key: string; host: Host } | undefined;
        for (const h of named) {
            const text = prop(h, 'underlay');
            const c = text === undefined ? undefined : parseCidr(text);
            if (!c) {
                report(accept, 'underlay-invalid',
                    `${describe(h)} needs its tunnel endpoint on the underlay as an IPv4 address with prefix, e.g. \`underlay 172.31.0.2/24\`.`,
                    h, { property: text === undefined ? 'name' : 'underlay' });
                continue;
            }
            const first = seen.get(c.address);
            if (first) {
                report(accept, 'underlay-duplicate',
                    `${describe(h)} has underlay address ${c.address}, which ${describe(first)} (line ${lineOf(first)}) already has; give each host its own.`,
                    h, { property: 'underlay' });
            } else seen.set(c.address, h);
            const key = `${networkOf(c)}/${c.prefix}`;
            if (!subnet) subnet = { key, host: h };
            else if (subnet.key !== key) {
                report(accept, 'underlay-subnet-mismatch',
                    `${describe(h)} (${text}) is not in the underlay subnet of ${describe(subnet.host)} (${prop(subnet.host, 'underlay')}); ` +
                    `the tunnels need one subnet: put every host's underlay address in it.`, h, { property: 'underlay' });
            }
        }
        const central = prop(fabric, 'central'), nb = prop(fabric, 'ovnNb');
        if ((central === undefined) === (nb === undefined)) {
            report(accept, 'fabric-central',
                `the fabric needs exactly one of \`central HOST\` (vtopo runs OVN's databases there) or \`ovn-nb "tcp:…"\` (an OVN that already runs); keep one.`,
                fabric);
        }
        const sb = prop(fabric, 'ovnSb');
        if (nb !== undefined && sb === undefined) {
            report(accept, 'fabric-sb',
                'an existing OVN needs its Southbound too: the hosts\' ovn-controllers connect there. Add `ovn-sb "tcp:ADDRESS:6642"`.', fabric, { property: 'ovnNb' });
        } else if (sb !== undefined && central !== undefined) {
            report(accept, 'fabric-sb',
                '`ovn-sb` names an existing OVN\'s Southbound, but `central` makes vtopo run its own OVN; drop `ovn-sb`, or use `ovn-nb` instead of `central`.', fabric, { property: 'ovnSb' });
        }
        // Router ports: a host address whose subnet holds the bridge's ports.
        const routerAddrs = new Map<string, Set<string>>();
        for (const r of topo.elements) {
            if (r.$type !== 'Router') continue;
            for (const rp of r.ports) {
                if (rp.network === undefined) continue;
                const c = parseCidr(rp.network);
                const hostPart = c ? ((c.octets[0] << 24 | c.octets[1] << 16 | c.octets[2] << 8 | c.octets[3]) >>> 0) - networkOf(c) : 0;
                if (!c || c.prefix > 30 || hostPart === 0 || hostPart === 2 ** (32 - c.prefix) - 1) {
                    report(accept, 'router-port-invalid',
                        `router ${r.name} port on ${rp.bridge?.$refText}: ${rp.network} is not a host address with its subnet; write one such as 10.0.1.254/24.`,
                        rp, { property: 'network' });
                    continue;
                }
                const bridge = rp.bridge?.ref;
                if (!bridge) continue;
                routerAddrs.set(bridge.name, (routerAddrs.get(bridge.name) ?? new Set()).add(c.address));
                for (const p of idx.ports) {
                    const ip = prop(p, 'ip'), pc = ip ? parseCidr(ip) : undefined;
                    if (prop(p, 'bridge')?.ref !== bridge || !pc) continue;
                    if (networkOf({ ...pc, prefix: c.prefix }) !== networkOf(c)) {
                        report(accept, 'router-port-subnet',
                            `router ${r.name} has ${rp.network} on ${bridge.name}, but ${describe(p)} there has ${ip}, outside that subnet; ` +
                            `put the router port in the bridge's subnet or move the port's address into ${rp.network}.`, rp, { property: 'network' });
                        break;
                    }
                }
            }
        }
        for (const p of idx.ports) {
            const gw = prop(p, 'gateway');
            const bridge = prop(p, 'bridge')?.ref;
            if (gw === undefined || !bridge) continue;
            const addr = parseCidr(gw)?.address;
            const on = routerAddrs.get(bridge.name);
            if (!addr || !on?.has(addr)) {
                report(accept, 'gateway-not-router',
                    `${describe(p)} has gateway ${gw}, which is no router port address on ${bridge.name}` +
                    `${on?.size ? ` (router ports there: ${[...on].join(', ')})` : ''}; use a router port's address on that bridge, or add \`port ${bridge.name} ${gw}/24\` to a router.`,
                    p, { property: 'gateway' });
            }
        }
    },
};
