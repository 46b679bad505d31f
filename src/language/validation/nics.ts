import type { ValidationChecks } from 'langium';
import type { Nic, Topology, VtopoAstType } from '../generated/ast.js';
import { bridgeDatapath, nicQueues } from '../defaults.js';
import { isValidIfname } from '../units.js';
import { describe, lineOf, replaceFix, report } from './report.js';
import { indexTopology } from './topology-index.js';
import { prop } from '../props.js';
import { DATAPATH_KINDS, DATAPATH_NAME, LIMITS, type NicDriverKind } from '../../core/limits.js';

type Driver = NicDriverKind;

/** tap and af_packet queues are chosen from a flow hash over IP headers and ports; only hardware RSS can hash on L2. */
export const RSS_FIELDS: Record<Driver, readonly string[]> = {
    tap: ['ipv4', 'ipv4-tcp', 'ipv4-udp', 'ipv6', 'ipv6-tcp', 'ipv6-udp'],
    af_packet: ['ipv4', 'ipv4-tcp', 'ipv4-udp', 'ipv6', 'ipv6-tcp', 'ipv6-udp'],
    pci: ['ipv4', 'ipv4-tcp', 'ipv4-udp', 'ipv6', 'ipv6-tcp', 'ipv6-udp', 'l2'],
};

export const nicChecks: ValidationChecks<VtopoAstType> = {
    Topology(topo: Topology, accept) {
        // One host interface or PCI function can be opened by one NIC only:
        // a second af_packet socket set would steal half the frames, DPDK refuses a bound device.
        const devices = new Map<string, Nic>();
        for (const nic of indexTopology(topo).nics) {
            const d = prop(nic, 'driver');
            // (A name the parser could not read is undefined: the parse error says so.)
            const key = d?.kind === 'af_packet' && d.iface !== undefined ? `interface "${d.iface}"` : d?.kind === 'pci' && d.address !== undefined ? `PCI device "${d.address}"` : undefined;
            if (!key) continue;
            const first = devices.get(key);
            if (!first) { devices.set(key, nic); continue; }
            report(accept, 'nic-device-duplicate',
                `${describe(nic)} uses host ${key}, which ${describe(first)} (line ${lineOf(first)}) already uses; one device can back one NIC. ` +
                `Use another device, or attach both bridges through one NIC and a link.`, nic, { property: 'driver' });
        }
    },
    Nic(nic: Nic, accept) {
        const driver = prop(nic, 'driver');
        if (!driver) {
            report(accept, 'nic-driver-missing',
                `${describe(nic)} has no driver, so vtopo cannot tell what to attach; add \`driver tap\`, \`driver af_packet "eth1"\` or \`driver pci "0000:03:00.0"\`.`,
                nic, { property: 'name' });
        }
        const dp = bridgeDatapath(prop(nic, 'bridge')?.ref);
        if (driver?.kind === 'af_packet' && driver.iface !== undefined && !isValidIfname(driver.iface)) {
            report(accept, 'iface-invalid',
                `interface name "${driver.iface}" of ${describe(nic)} is not a Linux interface name: at most 15 letters, digits, '_', '.' or '-', not starting with '-'; write it as \`ip link\` shows it, e.g. "eth1".`,
                driver, { property: 'iface' });
        }
        if (driver?.kind === 'pci') {
            if (driver.address !== undefined && !/^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(driver.address)) {
                report(accept, 'pci-address-invalid',
                    `PCI address "${driver.address}" of ${describe(nic)} is not in domain:bus:device.function form; write it as lspci -D shows it, e.g. "0000:03:00.0".`,
                    driver, { property: 'address' });
            }
            const bridge = prop(nic, 'bridge')?.ref;
            if (bridge && dp === 'embedded') {
                report(accept, 'nic-pci-on-embedded',
                    `${describe(nic)} uses a pci device, but bridge ${bridge.name} is on the embedded datapath, which drives only tap and af_packet NICs. ` +
                    `Put the bridge on \`datapath ovs\` (OvS-DPDK binds the device) or use \`driver af_packet "<ifname>"\`.`, nic, { property: 'driver' });
            }
        }
        const q = nicQueues(nic);
        if (q < 1) {
            report(accept, 'queues-out-of-range', `${describe(nic)} asks for ${q} queues; a NIC needs at least 1.`, nic, { property: 'queues' });
        } else if (driver) {
            const kind = driver.kind as Driver;
            const limit = LIMITS[dp].nicQueues[kind]?.max;
            if (limit !== undefined && q > limit) {
                const how = kind === 'tap' ? 'multi-queue tap' : kind === 'af_packet' ? 'af_packet fanout group' : 'pci port';
                const others = DATAPATH_KINDS.filter((k) => k !== dp).map((k) => [k, LIMITS[k].nicQueues[kind]?.max] as const)
                    .filter(([, m]) => m !== undefined && m > limit).map(([k, m]) => `; ${DATAPATH_NAME[k]} allows up to ${m}`).join('');
                report(accept, 'nic-queues-exceed-driver',
                    `${describe(nic)} asks for ${q} queues, but ${DATAPATH_NAME[dp]} serves at most ${limit} queues per ${how}${others}. Set queues ${limit}.`,
                    nic, { property: 'queues', fixes: replaceFix(nic, 'queues', String(limit), `Set queues to ${limit}`) });
            }
            const allowed = RSS_FIELDS[kind];
            nic.rss.forEach((field, index) => {
                if (allowed.includes(field)) return;
                report(accept, 'rss-field-unsupported',
                    `rss ${field} is not available on ${kind === 'af_packet' ? 'an' : 'a'} ${kind} NIC: ${kind} queues are picked by a hash of IP addresses and ports, and ` +
                    `hashing on MAC addresses needs a pci NIC with hardware RSS. Use ${allowed.filter((f) => f.includes('-')).join(', ')}.`,
                    nic, { property: 'rss', index });
            });
        }
        if (nic.rss.length > 0 && q === 1) {
            report(accept, 'rss-single-queue',
                `${describe(nic)} lists rss fields but has one queue, so there is nothing to spread flows over; raise \`queues\` or drop \`rss\`.`,
                nic, { property: 'rss', index: 0 });
        }
    },
};
