/**
 * Every diagnostic vtopo reports has one stable, descriptive code from this
 * table (kebab-case, never renumbered or reused). The code travels in both
 * `Diagnostic.code` (shown by editors and `vtopo check`) and `data.code`
 * (read back by the quick fixes). Severity is fixed per code so the editor,
 * the CLI and deploy always agree on what blocks.
 *
 * `rule` refers to the numbered checker rules of issue 2.
 */
import type { ValidationSeverity } from 'langium';

export interface CodeInfo { severity: ValidationSeverity; rule: number; summary: string }

export const CODES = {
    // Input that never reached the checker.
    'syntax-error': { severity: 'error', rule: 0, summary: 'the text does not match the vtopo grammar' },
    'file-unreadable': { severity: 'error', rule: 0, summary: 'a file given to check or deploy cannot be read' },
    // 1 — names
    'duplicate-name': { severity: 'error', rule: 1, summary: 'two things in one scope share a name' },
    'unresolved-reference': { severity: 'error', rule: 1, summary: 'a name refers to nothing in this topology' },
    'property-duplicate': { severity: 'error', rule: 14, summary: 'one property set twice in a block' },
    // 2, 3, 13 — queues
    'queues-exceed-cpus': { severity: 'warning', rule: 2, summary: 'more queue pairs than the guest has vCPUs' },
    'queues-out-of-range': { severity: 'error', rule: 3, summary: 'queues outside 1..128' },
    'poll-cores-short': { severity: 'info', rule: 13, summary: 'fewer datapath poll threads than queues to serve' },
    // 4 — MAC
    'mac-malformed': { severity: 'error', rule: 4, summary: 'a MAC that is not six hex octets' },
    'mac-multicast': { severity: 'error', rule: 4, summary: 'a MAC with the multicast bit set' },
    'mac-duplicate': { severity: 'error', rule: 4, summary: 'the same MAC on two ports' },
    // 5 — IP
    'ip-malformed': { severity: 'error', rule: 5, summary: 'an address with an octet > 255 or a prefix > 32' },
    'ip-duplicate': { severity: 'error', rule: 5, summary: 'the same IP address on two ports' },
    'subnet-mismatch': { severity: 'warning', rule: 5, summary: 'ports of one L2 segment in different subnets' },
    'ip-reserved': { severity: 'warning', rule: 14, summary: 'a port given its subnet\'s network or broadcast address' },
    // 6 — memory
    'memory-over-host': { severity: 'error', rule: 6, summary: 'guests + datapath need more than host memory' },
    'memory-over-hugepages': { severity: 'error', rule: 6, summary: 'guests + datapath need more than the hugepages' },
    'hugepage-size-mismatch': { severity: 'error', rule: 6, summary: 'VM memory is not a multiple of the hugepage size' },
    'hugepages-invalid': { severity: 'error', rule: 6, summary: 'a hugepage size other than 2M/1G, or a total that is not whole pages' },
    'size-invalid': { severity: 'error', rule: 14, summary: 'a size that is zero or unreadable' },
    // 7 — cores
    'core-outside-host': { severity: 'error', rule: 7, summary: 'a pin or poll core the host block does not grant' },
    'pin-overlaps-poll-cores': { severity: 'warning', rule: 7, summary: 'vCPUs pinned onto busy-polling datapath cores' },
    'core-list-invalid': { severity: 'error', rule: 7, summary: 'a core range that runs backwards' },
    'pin-shared': { severity: 'warning', rule: 14, summary: 'two VMs pinned to one core' },
    'pin-count-mismatch': { severity: 'warning', rule: 14, summary: 'pin lists a different number of cores than cpus' },
    'cpus-out-of-range': { severity: 'error', rule: 14, summary: 'cpus outside 1..255' },
    // 8 — vhost
    'vhost-server-on-ovs': { severity: 'warning', rule: 8, summary: 'deprecated dpdkvhostuser server mode on OvS' },
    // 9 — MTU
    'mtu-exceeds-bridge': { severity: 'error', rule: 9, summary: 'a port or NIC MTU above its bridge MTU' },
    'jumbo-without-mrg-rxbuf': { severity: 'error', rule: 9, summary: 'MTU > 1500 with mergeable rx buffers off' },
    'mtu-out-of-range': { severity: 'error', rule: 14, summary: 'an MTU outside 68..9710' },
    // 10 — links
    'link-cycle': { severity: 'warning', rule: 10, summary: 'links join bridges in a loop' },
    'link-self': { severity: 'error', rule: 10, summary: 'a link from a bridge to itself' },
    'link-datapath-mismatch': { severity: 'error', rule: 14, summary: 'a link between bridges of different datapaths' },
    // 11 — NICs
    'nic-queues-exceed-driver': { severity: 'error', rule: 11, summary: 'more NIC queues than its driver supports' },
    'rss-field-unsupported': { severity: 'error', rule: 11, summary: 'an RSS hash field the NIC driver cannot hash on' },
    'rss-single-queue': { severity: 'warning', rule: 14, summary: 'rss fields on a NIC with one queue' },
    'nic-driver-missing': { severity: 'error', rule: 14, summary: 'a NIC without driver' },
    'nic-pci-on-embedded': { severity: 'error', rule: 14, summary: 'a pci NIC on the embedded datapath' },
    'nic-device-duplicate': { severity: 'error', rule: 14, summary: 'two NICs on one host interface or PCI device' },
    'pci-address-invalid': { severity: 'error', rule: 14, summary: 'a PCI address not in DDDD:BB:DD.F form' },
    'iface-invalid': { severity: 'error', rule: 14, summary: 'an af_packet interface name Linux would refuse (or that would inject options)' },
    // 12 — completeness
    'vm-memory-too-small': { severity: 'error', rule: 12, summary: 'less memory than the default image needs' },
    'vm-without-ports': { severity: 'warning', rule: 12, summary: 'a VM with no port' },
    'bridge-unused': { severity: 'warning', rule: 12, summary: 'a bridge with no port, NIC or link' },
    'bridge-missing': { severity: 'error', rule: 14, summary: 'a port or NIC that names no bridge' },
    'host-missing': { severity: 'warning', rule: 14, summary: 'a topology without host block' },
    'host-duplicate': { severity: 'error', rule: 14, summary: 'more than one host block' },
    'ovsdb-invalid': { severity: 'error', rule: 14, summary: 'an ovsdb socket that is not unix:/absolute/path' },
    'ovsdb-unused': { severity: 'warning', rule: 14, summary: 'an ovsdb socket named but no bridge on datapath ovs' },
    'ovs-without-hugepages': { severity: 'info', rule: 14, summary: 'OvS-DPDK without hugepages runs in --no-huge mode' },
    // 802.1Q
    'vlan-out-of-range': { severity: 'error', rule: 14, summary: 'a VLAN id outside 1..4094, or a trunk list that is not one' },
    'vlan-access-and-trunk': { severity: 'error', rule: 14, summary: 'a port with both `vlan` (access) and `trunk`' },
    'native-vlan-without-trunk': { severity: 'error', rule: 14, summary: '`native-vlan` on a port that is not a trunk' },
    'vlan-alone': { severity: 'warning', rule: 14, summary: 'a VLAN that no other port of its bridge (segment) carries' },
    'vcpus-exceed-host-cores': { severity: 'warning', rule: 14, summary: 'one VM has more vCPUs than the host grants cores' },
    // 15 — impairments and expectations (issue 19)
    'impair-value-invalid': { severity: 'error', rule: 15, summary: 'an impairment value with a bad unit, negative, or over 100 %' },
    'impair-needs-delay': { severity: 'error', rule: 15, summary: 'jitter or reorder without a delay' },
    'impair-jitter-over-delay': { severity: 'warning', rule: 15, summary: 'a jitter larger than the delay' },
    'impair-needs-embedded': { severity: 'error', rule: 15, summary: 'an impairment OvS-DPDK cannot do (all but rate; any on a link)' },
    'impair-duplicate': { severity: 'error', rule: 15, summary: 'two impair blocks on one port or link' },
    'expect-invalid': { severity: 'error', rule: 15, summary: 'an expect limit with a bad unit or the wrong comparison' },
    'expect-self': { severity: 'error', rule: 15, summary: 'an expectation from a VM to itself' },
    'expect-no-address': { severity: 'error', rule: 15, summary: 'an expectation towards a VM without an IP address' },
    'expect-contradicts-topology': { severity: 'warning', rule: 15, summary: 'an expectation the topology makes false (isolated guests on one segment)' },
    // 16 — several hosts joined by a fabric (issue 20)
    'host-local-duplicate': { severity: 'error', rule: 16, summary: 'more than one named host that is this machine (no netns, no ssh)' },
    'link-under-ovn': { severity: 'error', rule: 16, summary: 'a link between bridges under OVN (use a router)' },
    'fabric-bridge-not-ovs': { severity: 'error', rule: 16, summary: 'a bridge under a fabric that is not datapath ovs' },
    'fabric-port-unsupported': { severity: 'error', rule: 16, summary: 'an impairment or VLAN settings on a port under a fabric' },
    'fabric-nic-unsupported': { severity: 'error', rule: 16, summary: 'a host NIC under a fabric (no OVN gateway router yet)' },
    'underlay-mtu-short': { severity: 'error', rule: 16, summary: 'a bridge MTU plus the encapsulation overhead over the underlay MTU' },
    'underlay-invalid': { severity: 'error', rule: 16, summary: 'a named host of a fabric without a valid underlay address' },
    'ssh-host-uplink-missing': { severity: 'error', rule: 16, summary: 'an ssh host that names no uplink interface for its underlay' },
    'netns-host-uplink': { severity: 'error', rule: 16, summary: 'a simulated (netns) host that names an uplink' },
    'underlay-duplicate': { severity: 'error', rule: 16, summary: 'two hosts with one underlay address' },
    'underlay-subnet-mismatch': { severity: 'error', rule: 16, summary: 'hosts outside one underlay subnet' },
    'fabric-central': { severity: 'error', rule: 16, summary: 'a fabric without, or with both, central and ovn-nb' },
    'fabric-sb': { severity: 'error', rule: 16, summary: 'an existing OVN (ovn-nb) without its ovn-sb, or ovn-sb with central' },
    'router-port-invalid': { severity: 'error', rule: 16, summary: 'a router port address that is not a host address with its subnet' },
    'router-port-subnet': { severity: 'error', rule: 16, summary: 'a router port outside the subnet of its bridge\'s ports' },
    'gateway-not-router': { severity: 'error', rule: 16, summary: 'a gateway that is no router port address on the port\'s bridge' },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export function severityOf(code: Code): ValidationSeverity {
    return CODES[code].severity;
}
