import { keywordOfProperty } from '../syntax.js';

/**
 * One or two sentences per keyword, in the user's terms: what the setting
 * does to the running lab. Keys are `<AstType>.<keyword>` where a keyword
 * means different things in different blocks, else the bare keyword.
 */
export const KEYWORD_DOCS: Record<string, string> = {
    'topology': 'A topology is one lab: the host resources, NICs, bridges, links and VMs that vtopo deploys and tears down together. Names inside it are local to it.',
    'host': 'The host block says which part of this machine vtopo may use: CPU cores, memory, hugepages and the cores the datapath may busy-poll on. The checker measures the VMs against it.',
    'Host.cores': 'CPU cores vtopo may use on this host. vCPU pins and poll cores must come from this list.',
    'Host.memory': 'Memory vtopo may use on this host. Without hugepages, all guest RAM plus the datapath\'s reserve must fit in it.',
    'hugepages': 'Hugepages reserved for the lab. Guest RAM is then backed by hugetlbfs files instead of memfd, which saves the switch TLB misses on every frame it copies (measured here: 1518-byte frames forwarded about 1.5× faster than from 4K-page memory); `hugepages 512M` means 2M pages, `hugepages 4 x 1G` four 1G pages. All VM memory (plus OvS-DPDK\'s pools) must fit.',
    'x': 'Separates the page count from the page size: `hugepages 4 x 1G` reserves four 1G pages.',
    'poll-cores': 'Cores the datapath busy-polls on. OvS-DPDK runs a PMD thread on each, and each queue of a port or NIC is served by one of them; the embedded switch runs one poll loop for all its queues, pinned to these cores. Polling avoids interrupt latency but keeps a core at 100%, so keep VM pins off these cores.',
    'ovsdb': 'The database socket of an Open vSwitch already running on this host, as `unix:/absolute/path` (e.g. "unix:/var/run/openvswitch/db.sock"). `datapath ovs` bridges then go on that OvS, which must run with DPDK, instead of a private one vtopo starts; vtopo touches only the bridges it created there. `--ovsdb unix:PATH` on the command line overrides it.',
    'nic': 'A NIC connects the lab to the outside: a tap device, an existing interface through af_packet, or a PCI device driven by DPDK. Its queues and RSS fields decide how incoming flows are spread.',
    'driver': 'How the datapath attaches to the NIC: `tap` creates a tap device, `af_packet "eth1"` reads an existing interface through packet sockets, `pci "0000:03:00.0"` hands a device to OvS-DPDK.',
    'tap': 'A tap device created for the lab; with several queues it is a multi-queue tap, one file descriptor per queue.',
    'af_packet': 'Attach to an existing host interface through AF_PACKET sockets; with several queues the sockets form a fanout group that spreads flows by hash.',
    'pci': 'A physical NIC by PCI address, bound to DPDK (OvS datapath only). Hardware RSS spreads flows over its queues.',
    'Nic.queues': 'Receive/transmit queue pairs of the NIC. On OvS-DPDK each queue is polled by one PMD core (the embedded switch polls them all from one loop); flows are spread over queues by the RSS hash, so one flow always stays on one queue.',
    'Port.queues': 'virtio-net queue pairs of this port (multi-queue). QEMU gets `queues=N` and `mq=on`; the guest enables at most one pair per vCPU. RSS in the datapath keeps each flow on one queue, so more queues spread flows over more poll cores on OvS-DPDK (the embedded switch serves them all from one loop).',
    'rss': 'Receive-side scaling: which header fields the hash covers when picking a queue. A 4-tuple field (e.g. ipv4-tcp) hashes addresses and ports, so one TCP/UDP flow always lands on one queue while different flows spread out.',
    'ipv4-tcp': 'Hash IPv4 TCP packets on source/destination address and port (the 4-tuple).',
    'ipv4-udp': 'Hash IPv4 UDP packets on source/destination address and port (the 4-tuple).',
    'ipv6-tcp': 'Hash IPv6 TCP packets on source/destination address and port.',
    'ipv6-udp': 'Hash IPv6 UDP packets on source/destination address and port.',
    'ipv4': 'Hash IPv4 packets on source and destination address only (2-tuple): all flows between two hosts share a queue.',
    'ipv6': 'Hash IPv6 packets on source and destination address only.',
    'l2': 'Hash on MAC addresses; only hardware RSS on a pci NIC can do this.',
    'Nic.mtu': 'Largest frame payload the NIC passes (bytes). Defaults to its bridge\'s MTU and may not exceed it.',
    'Port.mtu': 'Largest frame payload on this port (bytes), set in the guest and in the datapath. Defaults to the bridge MTU and may not exceed it; above 1500 needs mergeable rx buffers.',
    'Bridge.mtu': 'Largest frame payload the bridge forwards (bytes). Ports and NICs default to it and may not exceed it.',
    'Nic.bridge': 'The bridge this NIC is plugged into.',
    'Port.bridge': 'The bridge this port is plugged into: the datapath creates a vhost-user port there for the VM\'s virtio-net device.',
    'bridge': 'A software L2 switch (learning bridge) in the datapath. Ports, NICs and links attach to it; frames go out on the port where the destination MAC was last seen, or everywhere when unknown.',
    'datapath': 'Which switch implements the bridge: `embedded` (vtopo\'s own vhost-user switch) or `ovs` (OvS-DPDK: a private instance, or the existing one `host { ovsdb }` names).',
    'embedded': 'vtopo\'s own TypeScript vhost-user switch: a learning bridge that maps guest memory and forwards between virtqueues, taps and af_packet sockets.',
    'ovs': 'Open vSwitch with DPDK (netdev datapath): vtopo starts a private ovsdb-server and ovs-vswitchd (or uses the OvS `host { ovsdb }` names); ports become dpdkvhostuserclient interfaces.',
    'link': 'A patch between two bridges of the same datapath, joining them into one L2 segment. Bridges run no spanning tree, so links must not form a loop.',
    'vm': 'A QEMU guest. Its RAM is shared memory so the datapath can map the virtqueues, and each port becomes a virtio-net device on a vhost-user socket.',
    'cpus': 'Number of vCPUs. It also caps useful port queues: the guest enables at most one queue pair per vCPU.',
    'Vm.memory': 'Guest RAM. It is shared with the datapath (memfd, or hugetlbfs files when the host declares hugepages), which vhost-user needs to reach the rings.',
    'pin': 'Host cores the VM\'s vCPU threads are pinned to, one per vCPU in order. Keep them off the poll cores.',
    'accel': 'CPU virtualisation: `kvm` needs /dev/kvm and VT-x/AMD-V, `tcg` emulates in software (slow but works anywhere), `auto` picks kvm when usable.',
    'auto': 'Use KVM when /dev/kvm is usable, else fall back to TCG with a note.',
    'kvm': 'Hardware-assisted virtualisation; deploy fails if /dev/kvm is not usable.',
    'tcg': 'QEMU\'s software CPU emulator: slow but needs no virtualisation support. Under TCG vtopo sets MSI-X vectors=0 on vhost-user NICs (QEMU 7.2 crashes otherwise).',
    'image': 'What the guest boots: `default` (vtopo\'s small Debian kernel + busybox initramfs that configures the port IPs), a kernel/initrd pair, or a disk image.',
    'default': 'vtopo\'s built-in guest: a Debian kernel with a busybox initramfs that brings up each port with its IP. Needs at least 128M of RAM.',
    'kernel': 'Boot this kernel directly (QEMU -kernel).',
    'initrd': 'Initial ramdisk passed with the kernel (QEMU -initrd).',
    'append': 'Kernel command line (QEMU -append).',
    'disk': 'Boot from this disk image (qcow2 or raw) as a virtio block device.',
    'port': 'A virtio-net NIC of the VM, connected over a vhost-user socket to a bridge. Its name is the guest-side identity (`vm.port` in status).',
    'mac': 'The port\'s MAC address. When absent vtopo derives a stable locally administered one (52:54:00:…) from the topology, VM and port names.',
    'ip': 'IPv4 address with prefix the default image assigns to this port inside the guest. Ports on one L2 segment should share a subnet.',
    'vhost': 'Who owns the vhost-user socket. `client` (recommended): QEMU is the socket server and the switch connects, so the switch can restart without killing the guest. `server`: the switch listens and QEMU connects (dpdkvhostuser in OvS, deprecated).',
    'client': 'The switch is the vhost-user client: QEMU creates the socket (server=on) and the switch connects and reconnects.',
    'server': 'The switch is the vhost-user server: it creates the socket and QEMU connects to it.',
    'ring': 'The virtqueue layout of the port\'s virtio-net device. `split` (default): each queue is three areas, a descriptor table, a ring of offered buffers and a ring of finished ones, each written by one side. `packed` (virtio 1.1): one ring of descriptors that both sides write in place, a wrap bit per lap telling new entries from old, so a buffer costs fewer cache lines to pass. Both datapaths serve either; QEMU gets `packed=on`.',
    'split': 'Split virtqueues (`ring split`, the default): descriptor table, available ring and used ring in separate areas; every virtio driver supports it.',
    'packed': 'Packed virtqueues (`ring packed`, virtio 1.1 VIRTIO_F_RING_PACKED): descriptors and completions share one ring, marked per lap by avail/used wrap bits. Needs a guest driver with packed support (Linux 5.0+, DPDK).',
    'mrg-rxbuf': 'Mergeable rx buffers (virtio-net feature): a received frame may span several guest buffers. Needed for MTUs above 1500; on by default.',
    'vlan': 'Access port of one 802.1Q VLAN (1..4094): frames are untagged towards the guest and in that VLAN on the bridge. `vlan 10`.',
    'trunk': 'Trunk port: 802.1Q-tagged frames of the listed VLANs pass, others are dropped. `trunk 10,20,30` (ranges like 10-20 too).',
    'native-vlan': 'On a trunk: the VLAN of its untagged frames, which also leave the trunk untagged. `native-vlan 10`.',
    'on': 'Enabled.',
    'off': 'Disabled.',
    'impair': 'Impairs the frames leaving the switch through this port (towards the guest), as netem on an interface\'s egress does; on a link, both ways. `impair { delay 20ms jitter 2ms loss 1% duplicate 0.1% reorder 1% rate 100mbit }`. OvS bridges do only `rate` (an egress policer). `vtopo impair FILE PORT …` changes it live until the next deploy.',
    'delay': 'Holds every frame this long before it leaves (`500us`, `20ms`, `1s`).',
    'jitter': 'Varies each frame\'s delay by up to ± this much, uniformly; frames then overtake each other. Needs a delay.',
    'loss': 'Drops this share of the frames at random (`1%`, `0.5%`), from a seeded RNG.',
    'duplicate': 'Sends this share of the frames twice (`0.1%`).',
    'reorder': 'Sends this share of the frames at once, ahead of the delayed ones (netem\'s reorder). Needs a delay.',
    'rate': 'Caps the rate frames leave at, with a token bucket (`500kbit`, `100mbit`, `1gbit`: tc\'s spelling, bits per second); frames over it wait, past 1,000 held they are dropped.',
    'expect': 'An expectation `vtopo verify` checks in the running lab: `expect a reaches b`, `expect a isolated c`, `expect rtt a b < 50ms`, `expect throughput a b > 200mbit` (iperf3 a → b in the guests).',
    'reaches': '`expect a reaches b`: a ping from a to b\'s first address must be answered.',
    'isolated': '`expect a isolated c`: a must not reach c, nor c reach a.',
    'rtt': '`expect rtt a b < 50ms`: the median round-trip time of pings from a to b must be below the limit.',
    'throughput': '`expect throughput a b > 200mbit`: iperf3 from a to b (TCP, in the guests) must exceed the rate.',
};

export function keywordDoc(containerType: string, keyword: string): string | undefined {
    return KEYWORD_DOCS[`${containerType}.${keyword}`] ?? KEYWORD_DOCS[keyword];
}

/** Properties set by a value after another keyword (`hugepages 4 x 1G`, `af_packet "eth1"`, `link a b`). */
const EXPLAINED_BY: Record<string, string> = {
    count: 'hugepages', pageSize: 'hugepages', total: 'hugepages', iface: 'af_packet', address: 'pci',
    kernel: 'kernel', initrd: 'initrd', append: 'append', path: 'disk', a: 'link', b: 'link',
};

/** The keyword whose doc explains an AST property's value (`pollCores` → `poll-cores`, `iface` → `af_packet`). */
export function keywordExplaining(property: string): string | undefined {
    return keywordOfProperty(property) ?? EXPLAINED_BY[property];
}
