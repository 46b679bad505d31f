import { untaggedVlanOf, vlanOf } from '../vlans.js';
import type { ValidationChecks } from 'langium';
import type { Port, Topology, VtopoAstType } from '../generated/ast.js';
import { networkOf, parseCidr, parseMac } from '../units.js';
import { describe, lineOf, replaceFix, report } from './report.js';
import { indexTopology } from './topology-index.js';
import { prop } from '../props.js';

const hex = (n: number) => n.toString(16).padStart(2, '0');

export const addressChecks: ValidationChecks<VtopoAstType> = {
    Port(port: Port, accept) {
        const mac = prop(port, 'mac'), ip = prop(port, 'ip');
        if (mac !== undefined) {
            const bytes = parseMac(mac);
            if (!bytes) {
                report(accept, 'mac-malformed',
                    `MAC '${mac}' of ${describe(port)} is malformed: write six two-digit hex octets, e.g. 52:54:00:12:34:56 (or drop \`mac\` to derive one).`,
                    port, { property: 'mac' });
            } else if (bytes.every((b) => b === 0)) {
                report(accept, 'mac-malformed',
                    `MAC 00:00:00:00:00:00 of ${describe(port)} is not a usable address; pick a locally administered one such as 52:54:00:12:34:56 or drop \`mac\`.`,
                    port, { property: 'mac' });
            } else if (bytes[0] & 1) {
                const fixed = [bytes[0] & 0xfe, ...bytes.slice(1)].map(hex).join(':');
                report(accept, 'mac-multicast',
                    `MAC ${mac} of ${describe(port)} has the multicast bit set (first octet is odd); a NIC address must be unicast. Use ${fixed}.`,
                    port, { property: 'mac', fixes: replaceFix(port, 'mac', fixed, `Clear the multicast bit (${fixed})`) });
            }
        }
        if (ip !== undefined) {
            const cidr = parseCidr(ip);
            if (!cidr) {
                report(accept, 'ip-malformed',
                    `IP '${ip}' of ${describe(port)} is not a valid IPv4 CIDR: octets go to 255 and the prefix to 32, e.g. 10.0.0.1/24.`,
                    port, { property: 'ip' });
            } else if (cidr.prefix <= 30) {
                const host = ((cidr.octets[0] << 24 | cidr.octets[1] << 16 | cidr.octets[2] << 8 | cidr.octets[3]) >>> 0) - networkOf(cidr);
                const all = 2 ** (32 - cidr.prefix) - 1;
                if (host === 0 || host === all) {
                    report(accept, 'ip-reserved',
                        `${ip} on ${describe(port)} is the ${host === 0 ? 'network' : 'broadcast'} address of its /${cidr.prefix} subnet; ` +
                        `guests cannot use it as a host address. Pick another address in the subnet.`,
                        port, { property: 'ip' });
                }
            }
        }
    },
    Topology(topo: Topology, accept) {
        const idx = indexTopology(topo);
        const macs = new Map<string, Port>();
        const ips = new Map<string, Port>();
        // segment and VLAN of the address → "network/prefix" → ports (other VLANs may use other subnets)
        const subnets = new Map<string, Map<string, Port[]>>();
        for (const port of idx.ports) {
            const mac = prop(port, 'mac'), ip = prop(port, 'ip');
            if (mac && parseMac(mac)) {
                const first = macs.get(mac);
                if (first) {
                    report(accept, 'mac-duplicate',
                        `MAC ${mac} of ${describe(port)} is already used by ${describe(first)} (line ${lineOf(first)}); ` +
                        `two NICs with one MAC confuse the bridge's learning. Change one, or drop \`mac\` to derive a unique one.`,
                        port, { property: 'mac' });
                } else macs.set(mac, port);
            }
            const cidr = ip ? parseCidr(ip) : undefined;
            if (!cidr) continue;
            const first = ips.get(cidr.address);
            if (first) {
                report(accept, 'ip-duplicate',
                    `IP ${cidr.address} of ${describe(port)} is already used by ${describe(first)} (line ${lineOf(first)}); give each port its own address.`,
                    port, { property: 'ip' });
            } else ips.set(cidr.address, port);
            const bridge = prop(port, 'bridge')?.ref;
            const seg = bridge ? `${idx.segmentOf.get(bridge)}/${untaggedVlanOf(vlanOf(port))}` : undefined;
            if (seg === undefined) continue;
            const key = `${networkOf(cidr)}/${cidr.prefix}`;
            let bySubnet = subnets.get(seg);
            if (!bySubnet) subnets.set(seg, bySubnet = new Map());
            const list = bySubnet.get(key) ?? [];
            list.push(port);
            bySubnet.set(key, list);
        }
        for (const bySubnet of subnets.values()) {
            if (bySubnet.size < 2) continue;
            // The largest group is taken as the segment's intended subnet.
            const groups = [...bySubnet.values()].sort((a, b) => b.length - a.length);
            const ref = groups[0][0];
            for (const group of groups.slice(1)) {
                for (const port of group) {
                    report(accept, 'subnet-mismatch',
                        `${describe(port)} (${prop(port, 'ip')}) shares an L2 segment with ${describe(ref)} (${prop(ref, 'ip')}) but is in a different subnet, ` +
                        `so they cannot talk without a router. Put them in one subnet, on bridges that are not linked, or on different VLANs.`,
                        port, { property: 'ip' });
                }
            }
        }
    },
};
