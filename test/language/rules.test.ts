/**
 * Every checker rule: a text that triggers its code and a close variant
 * (the fix the message suggests) that does not. The table must cover every
 * code in codes.ts, so a new rule cannot land without its two cases.
 */
import { describe, expect, it } from 'vitest';
import { CODES, type Code } from '../../src/language/validation/codes.js';
import { codes, diagnostics, lab } from './helpers.js';

interface Case { bad: string; good: string; note?: string }

/** A valid two-host fabric lab to mutate (issue 20). */
function fab(o: { h2?: string; fabric?: string; web?: string; elements?: string; portB?: string } = {}): string {
    return `topology f {
  host h1 { cores 0-1  memory 4G  hugepages 2G  poll-cores 1  underlay 172.31.0.1/24 }
  host h2 { ${o.h2 ?? 'netns  underlay 172.31.0.2/24'} }
  fabric { ${o.fabric ?? 'engine ovn  encap geneve  central h1  underlay-mtu 1600'} }
  bridge web { ${o.web ?? 'datapath ovs  mtu 1400'} }
  bridge db { datapath ovs  mtu 1400 }
  router edge { port web 10.0.1.254/24  port db 10.0.2.254/24 }
  ${o.elements ?? ''}
  vm a { host h1  port eth0 { bridge web  ip 10.0.1.1/24  gateway 10.0.1.254 } }
  vm b { host h2  port eth0 { ${o.portB ?? 'bridge web  ip 10.0.1.2/24  gateway 10.0.1.254'} } }
  vm c { host h2  port eth0 { bridge db  ip 10.0.2.1/24 } }
}
`;
}


const OVS_HOST = 'cores 0-3  memory 8G  hugepages 2G  poll-cores 3';

const CASES: Partial<Record<Code, Case>> = {
    'syntax-error': { bad: lab({ a: 'cpus two  memory 256M' }), good: lab({ a: 'cpus 2  memory 256M' }) },
    // 1 — names
    'duplicate-name': {
        bad: lab({ elements: 'bridge br0' }),
        good: lab({ elements: 'bridge br1  link br0 br1' }),
    },
    'unresolved-reference': { bad: lab({ portB: 'bridge br9  ip 10.0.0.2/24' }), good: lab() },
    'property-duplicate': { bad: lab({ a: 'cpus 2  memory 256M  memory 512M' }), good: lab({ a: 'cpus 2  memory 512M' }) },
    // 2, 3, 13 — queues
    'queues-exceed-cpus': {
        bad: lab({ host: 'cores 0-3  memory 8G  poll-cores 2-3', portA: 'bridge br0  ip 10.0.0.1/24  queues 4' }),
        good: lab({ host: 'cores 0-3  memory 8G  poll-cores 2-3', portA: 'bridge br0  ip 10.0.0.1/24  queues 2' }),
    },
    'queues-out-of-range': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  queues 129' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  queues 1' }),
    },
    'poll-cores-short': {
        bad: lab({ host: 'cores 0-3  memory 8G  hugepages 2G  poll-cores 3', elements: 'bridge sw { datapath ovs }', portA: 'bridge sw  ip 10.0.0.1/24  queues 2' }),
        good: lab({ host: 'cores 0-3  memory 8G  hugepages 2G  poll-cores 2-3', elements: 'bridge sw { datapath ovs }', portA: 'bridge sw  ip 10.0.0.1/24  queues 2' }),
        note: 'the embedded switch is one poll loop: see checker details',
    },
    // 4 — MAC
    'mac-malformed': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 52:54:00:00:01' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 52:54:00:00:00:01' }),
    },
    'mac-multicast': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 01:00:5e:00:00:01' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 02:00:5e:00:00:01' }),
    },
    'mac-duplicate': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 52:54:00:00:00:01', portB: 'bridge br0  ip 10.0.0.2/24  mac 52:54:00:00:00:01' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 52:54:00:00:00:01', portB: 'bridge br0  ip 10.0.0.2/24  mac 52:54:00:00:00:02' }),
    },
    // 5 — IP
    'ip-malformed': { bad: lab({ portB: 'bridge br0  ip 10.0.0.256/24' }), good: lab() },
    'ip-duplicate': { bad: lab({ portB: 'bridge br0  ip 10.0.0.1/24' }), good: lab() },
    'subnet-mismatch': {
        bad: lab({ portB: 'bridge br0  ip 10.0.1.2/24' }),
        good: lab({ elements: 'bridge br1 { }', portB: 'bridge br1  ip 10.0.1.2/24' }),
        note: 'different subnets are fine on bridges that are not linked',
    },
    'ip-reserved': { bad: lab({ portB: 'bridge br0  ip 10.0.0.255/24' }), good: lab() },
    // 6 — memory
    'memory-over-host': { bad: lab({ host: 'cores 0-3  memory 384M' }), good: lab({ host: 'cores 0-3  memory 512M' }) },
    'memory-over-hugepages': { bad: lab({ host: 'cores 0-3  memory 8G  hugepages 256M' }), good: lab({ host: 'cores 0-3  memory 8G  hugepages 512M' }) },
    'hugepage-size-mismatch': {
        bad: lab({ host: 'cores 0-3  memory 8G  hugepages 2 x 1G', a: 'cpus 2  memory 1G', b: 'cpus 1  memory 512M' }),
        good: lab({ host: 'cores 0-3  memory 8G  hugepages 2 x 1G', a: 'cpus 2  memory 1G', b: 'cpus 1  memory 1G' }),
    },
    'hugepages-invalid': { bad: lab({ host: 'cores 0-3  memory 8G  hugepages 4 x 4M' }), good: lab({ host: 'cores 0-3  memory 8G  hugepages 4 x 1G' }) },
    'size-invalid': { bad: lab({ host: 'cores 0-3  memory 0M' }), good: lab({ host: 'cores 0-3  memory 1G' }) },
    // 7 — cores
    'core-outside-host': { bad: lab({ a: 'cpus 2  memory 256M  pin 4-5' }), good: lab({ a: 'cpus 2  memory 256M  pin 0-1' }) },
    'pin-overlaps-poll-cores': { bad: lab({ a: 'cpus 2  memory 256M  pin 2-3' }), good: lab({ a: 'cpus 2  memory 256M  pin 1-2' }) },
    'core-list-invalid': { bad: lab({ a: 'cpus 2  memory 256M  pin 1-0' }), good: lab({ a: 'cpus 2  memory 256M  pin 0-1' }) },
    'pin-count-mismatch': { bad: lab({ a: 'cpus 2  memory 256M  pin 0' }), good: lab({ a: 'cpus 2  memory 256M  pin 0,1' }) },
    'pin-shared': {
        bad: lab({ a: 'cpus 2  memory 256M  pin 0-1', b: 'cpus 1  memory 256M  pin 1' }),
        good: lab({ a: 'cpus 2  memory 256M  pin 0-1', b: 'cpus 1  memory 256M  pin 2' }),
    },
    'cpus-out-of-range': { bad: lab({ a: 'cpus 0  memory 256M' }), good: lab({ a: 'cpus 1  memory 256M' }) },
    'vcpus-exceed-host-cores': { bad: lab({ a: 'cpus 8  memory 256M' }), good: lab({ a: 'cpus 4  memory 256M' }) },
    // 802.1Q
    'vlan-out-of-range': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 4095', portB: 'bridge br0  ip 10.0.0.2/24  vlan 4095' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 4094', portB: 'bridge br0  ip 10.0.0.2/24  vlan 4094' }),
    },
    'vlan-access-and-trunk': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 10  trunk 10,20', portB: 'bridge br0  ip 10.0.0.2/24  vlan 10' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  trunk 10,20  native-vlan 10', portB: 'bridge br0  ip 10.0.0.2/24  vlan 10' }),
    },
    'native-vlan-without-trunk': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  native-vlan 10', portB: 'bridge br0  ip 10.0.0.2/24  vlan 10' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 10', portB: 'bridge br0  ip 10.0.0.2/24  vlan 10' }),
    },
    'vlan-alone': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 10', portB: 'bridge br0  ip 10.0.0.2/24  vlan 20' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  vlan 10', portB: 'bridge br0  ip 10.0.0.2/24  trunk 10  native-vlan 10' }),
    },
    // 8 — vhost
    'vhost-server-on-ovs': {
        bad: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24  vhost server' }),
        good: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24  vhost client' }),
    },
    // 9 — MTU
    'mtu-exceeds-bridge': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mtu 9000' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  mtu 1400' }),
    },
    'jumbo-without-mrg-rxbuf': {
        bad: lab({ elements: 'bridge jumbo { mtu 9000 }', portB: 'bridge jumbo  ip 10.0.1.2/24  mrg-rxbuf off' }),
        good: lab({ elements: 'bridge jumbo { mtu 9000 }', portB: 'bridge jumbo  ip 10.0.1.2/24  mrg-rxbuf on' }),
    },
    'mtu-out-of-range': {
        bad: lab({ elements: 'bridge jumbo { mtu 65535 }', portB: 'bridge jumbo  ip 10.0.1.2/24' }),
        good: lab({ elements: 'bridge jumbo { mtu 9000 }', portB: 'bridge jumbo  ip 10.0.1.2/24' }),
    },
    // 10 — links
    'link-cycle': {
        bad: lab({ elements: 'bridge br1  bridge br2  link br0 br1  link br1 br2  link br2 br0' }),
        good: lab({ elements: 'bridge br1  bridge br2  link br0 br1  link br1 br2' }),
    },
    'link-self': { bad: lab({ elements: 'bridge br1  link br0 br0  link br0 br1' }), good: lab({ elements: 'bridge br1  link br0 br1' }) },
    'link-datapath-mismatch': {
        bad: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }  link br0 sw' }),
        good: lab({ host: OVS_HOST, elements: 'bridge sw { datapath embedded }  link br0 sw' }),
    },
    // 11 — NICs
    'nic-queues-exceed-driver': {
        bad: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }  nic up { driver tap  queues 32  bridge sw }' }),
        good: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }  nic up { driver tap  queues 16  bridge sw }' }),
    },
    'rss-field-unsupported': {
        bad: lab({ elements: 'nic up { driver af_packet "eth1"  queues 2  rss l2  bridge br0 }' }),
        good: lab({ elements: 'nic up { driver af_packet "eth1"  queues 2  rss ipv4-tcp  bridge br0 }' }),
    },
    'rss-single-queue': {
        bad: lab({ elements: 'nic up { driver tap  rss ipv4-tcp  bridge br0 }' }),
        good: lab({ elements: 'nic up { driver tap  queues 2  rss ipv4-tcp  bridge br0 }' }),
    },
    'nic-driver-missing': { bad: lab({ elements: 'nic up { bridge br0 }' }), good: lab({ elements: 'nic up { driver tap  bridge br0 }' }) },
    'nic-device-duplicate': {
        bad: lab({ elements: 'nic up { driver af_packet "eth1"  bridge br0 }  nic up2 { driver af_packet "eth1"  bridge br0 }' }),
        good: lab({ elements: 'nic up { driver af_packet "eth1"  bridge br0 }  nic up2 { driver af_packet "eth2"  bridge br0 }' }),
    },
    'nic-pci-on-embedded': {
        bad: lab({ elements: 'nic up { driver pci "0000:03:00.0"  bridge br0 }' }),
        good: lab({ elements: 'nic up { driver af_packet "eth1"  bridge br0 }' }),
    },
    'pci-address-invalid': {
        bad: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }  nic up { driver pci "3:0"  bridge sw }' }),
        good: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }  nic up { driver pci "0000:03:00.0"  bridge sw }' }),
    },
    'iface-invalid': {
        bad: lab({ elements: 'nic up { driver af_packet "eth1,qpairs=64"  bridge br0 }' }),
        good: lab({ elements: 'nic up { driver af_packet "eth1"  bridge br0 }' }),
    },
    'ovs-without-hugepages': {
        bad: lab({ elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' }),
        good: lab({ host: OVS_HOST, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' }),
    },
    'ovsdb-invalid': {
        bad: lab({ host: `${OVS_HOST}  ovsdb "/var/run/openvswitch/db.sock"`, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' }),
        good: lab({ host: `${OVS_HOST}  ovsdb "unix:/var/run/openvswitch/db.sock"`, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' }),
    },
    'ovsdb-unused': {
        bad: lab({ host: `${OVS_HOST}  ovsdb "unix:/var/run/openvswitch/db.sock"` }),
        good: lab({ host: `${OVS_HOST}  ovsdb "unix:/var/run/openvswitch/db.sock"`, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' }),
    },
    // 12 — completeness
    'vm-memory-too-small': { bad: lab({ b: 'cpus 1  memory 64M' }), good: lab({ b: 'cpus 1  memory 128M' }) },
    'vm-without-ports': { bad: lab({ elements: 'vm lonely { cpus 1 }' }), good: lab({ elements: 'vm lonely { cpus 1  port eth0 { bridge br0 } }' }) },
    'bridge-unused': { bad: lab({ elements: 'bridge spare' }), good: lab({ elements: 'bridge spare  link br0 spare' }) },
    'bridge-missing': { bad: lab({ portB: 'ip 10.0.0.2/24' }), good: lab() },
    'host-missing': { bad: lab({ host: null }), good: lab() },
    'host-duplicate': { bad: lab({ elements: 'host { memory 1G }' }), good: lab() },
    // 15 — impairments and expectations
    'impair-value-invalid': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { loss 101% }' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { loss 100% }' }),
    },
    'impair-needs-delay': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { jitter 2ms }' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { delay 20ms  jitter 2ms }' }),
    },
    'impair-jitter-over-delay': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { delay 1ms  jitter 2ms }' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { delay 2ms  jitter 2ms }' }),
    },
    'impair-needs-embedded': {
        bad: lab({ elements: 'bridge sw { datapath ovs }', host: OVS_HOST, portB: 'bridge sw  ip 10.0.1.2/24  impair { delay 20ms  rate 10mbit }' }),
        good: lab({ elements: 'bridge sw { datapath ovs }', host: OVS_HOST, portB: 'bridge sw  ip 10.0.1.2/24  impair { rate 10mbit }' }),
    },
    'impair-duplicate': {
        bad: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { loss 1% } impair { delay 1ms }' }),
        good: lab({ portA: 'bridge br0  ip 10.0.0.1/24  impair { loss 1%  delay 1ms }' }),
    },
    'expect-invalid': { bad: lab({ elements: 'expect rtt a b < 50mb' }), good: lab({ elements: 'expect rtt a b < 50ms' }) },
    'expect-self': { bad: lab({ elements: 'expect a reaches a' }), good: lab({ elements: 'expect a reaches b' }) },
    'expect-no-address': { bad: lab({ elements: 'expect a reaches b', portB: 'bridge br0' }), good: lab({ elements: 'expect b reaches a', portB: 'bridge br0' }) },
    'expect-contradicts-topology': {
        bad: lab({ elements: 'expect a isolated b' }),
        good: lab({ elements: 'bridge br1  expect a isolated b', portB: 'bridge br1  ip 10.0.0.2/24' }),
    },
    // 16 — several hosts joined by a fabric
    'host-local-duplicate': { bad: fab({ h2: 'underlay 172.31.0.2/24' }), good: fab() },
    'link-under-ovn': { bad: fab({ elements: 'link web db' }), good: fab() },
    'fabric-bridge-not-ovs': { bad: fab({ web: 'datapath embedded  mtu 1400' }), good: fab() },
    'fabric-nic-unsupported': { bad: fab({ elements: 'nic up { driver tap  bridge web }' }), good: fab() },
    'fabric-port-unsupported': { bad: fab({ portB: 'bridge web  ip 10.0.1.2/24  gateway 10.0.1.254  impair { rate 10mbit }' }), good: fab() },
    'underlay-mtu-short': { bad: fab({ web: 'datapath ovs  mtu 1500', fabric: 'engine ovn  central h1  underlay-mtu 1557' }), good: fab({ web: 'datapath ovs  mtu 1500', fabric: 'engine ovn  central h1  underlay-mtu 1558' }) },
    'underlay-invalid': { bad: fab({ h2: 'netns' }), good: fab() },
    'ssh-host-uplink-missing': { bad: fab({ h2: 'ssh "root@172.31.0.2"  underlay 172.31.0.2/24' }), good: fab({ h2: 'ssh "root@172.31.0.2"  underlay 172.31.0.2/24  uplink af_packet "eth1"' }) },
    'netns-host-uplink': { bad: fab({ h2: 'netns  underlay 172.31.0.2/24  uplink af_packet "eth1"' }), good: fab() },
    'underlay-duplicate': { bad: fab({ h2: 'netns  underlay 172.31.0.1/24' }), good: fab() },
    'underlay-subnet-mismatch': { bad: fab({ h2: 'netns  underlay 172.31.1.2/24' }), good: fab() },
    'fabric-central': { bad: fab({ fabric: 'engine ovn  underlay-mtu 1600' }), good: fab() },
    'fabric-sb': {
        bad: fab({ fabric: 'engine ovn  ovn-nb "tcp:192.0.2.10:6641"  underlay-mtu 1600' }),
        good: fab({ fabric: 'engine ovn  ovn-nb "tcp:192.0.2.10:6641"  ovn-sb "tcp:192.0.2.10:6642"  underlay-mtu 1600' }),
    },
    'router-port-invalid': { bad: fab({ elements: 'router r2 { port db 10.0.2.0/24 }' }), good: fab({ elements: 'router r2 { port db 10.0.2.253/24 }' }) },
    'router-port-subnet': { bad: fab({ elements: 'router r2 { port db 10.0.3.253/24 }' }), good: fab({ elements: 'router r2 { port db 10.0.2.253/24 }' }) },
    'gateway-not-router': { bad: fab({ portB: 'bridge web  ip 10.0.1.2/24  gateway 10.0.1.1' }), good: fab() },
};

/** Codes that need something other than topology text to trigger (tested elsewhere). */
const ELSEWHERE: Partial<Record<Code, string>> = {
    'file-unreadable': 'test/language/cli.test.ts',
};

describe('checker rules: each code has a failing and a passing case', () => {
    it('covers every code in codes.ts', () => {
        const missing = Object.keys(CODES).filter((c) => !(c in CASES) && !(c in ELSEWHERE));
        expect(missing).toEqual([]);
    });

    for (const [code, c] of Object.entries(CASES) as [Code, Case][]) {
        it(`${code} (${CODES[code].severity}, rule ${CODES[code].rule})`, async () => {
            const bad = await diagnostics(c.bad);
            const hit = bad.filter((d) => d.code === code);
            expect(hit.length, `expected ${code} in:\n${c.bad}\ngot ${JSON.stringify(bad, null, 1)}`).toBeGreaterThan(0);
            for (const d of hit) {
                expect(d.severity).toBe(CODES[code].severity);
                // A message names the cause and the fix: at least a clause for each.
                expect(d.message.length).toBeGreaterThan(40);
            }
            const good = await diagnostics(c.good);
            expect(good.filter((d) => d.code === code), `did not expect ${code} in:\n${c.good}`).toEqual([]);
        });
    }
});

describe('checker details', () => {
    it('fabric: a VM or central on an unknown host is an unresolved reference with the closest host name', async () => {
        for (const text of [fab({ portB: 'bridge web  ip 10.0.1.2/24' }).replace('vm b { host h2', 'vm b { host h9'), fab({ fabric: 'engine ovn  central h8  underlay-mtu 1600' })]) {
            const [d] = (await diagnostics(text)).filter((x) => x.code === 'unresolved-reference');
            expect(d?.message).toMatch(/Unknown host 'h[89]'.*Did you mean 'h[12]'/);
        }
    });

    it('fabric: cores and memory are checked per host, not summed over the hosts', async () => {
        // Each host holds one 2G VM: over h2's 3G only when both would be on it.
        const two = (hostB: string) => fab({ h2: 'netns  underlay 172.31.0.2/24  memory 3G' }).replace('vm a { host h1', 'vm a { host h1 memory 2G').replace('vm b { host h2', `vm b { host ${hostB} memory 2G`).replace('vm c { host h2', 'vm c { host h1');
        expect((await diagnostics(two('h2'))).filter((d) => d.code === 'memory-over-host')).toEqual([]);
        expect((await diagnostics(two('h2').replace('vm a { host h1', 'vm a { host h2'))).map((d) => d.code)).toContain('memory-over-host');
        // h1 grants cores 0-1: a VM on h2 (no cores line) pinned to 5 is h2's business.
        expect((await diagnostics(fab().replace('vm b { host h2', 'vm b { host h2 pin 5'))).map((d) => d.code)).not.toContain('core-outside-host');
        expect((await diagnostics(fab().replace('vm a { host h1', 'vm a { host h1 pin 5'))).map((d) => d.code)).toContain('core-outside-host');
    });

    it('suggests the closest name for an unresolved reference', async () => {
        const [d] = (await diagnostics(lab({ portB: 'bridge bro  ip 10.0.0.2/24' }))).filter((x) => x.code === 'unresolved-reference');
        expect(d.message).toContain("Did you mean 'br0'?");
    });

    it('says the embedded switch serves all queues from one poll loop, however many poll-cores', async () => {
        for (const [host, where] of [
            ['cores 0-3  memory 8G  poll-cores 2-3', 'pinned to poll-cores 2,3'],
            ['cores 0-3  memory 8G  poll-cores 3', 'on poll-core 3'],
            ['cores 0-3  memory 8G', 'on one default core'],
        ]) {
            const [d] = (await diagnostics(lab({ host, portA: 'bridge br0  ip 10.0.0.1/24  queues 2' }))).filter((x) => x.code === 'poll-cores-short');
            expect(d?.message).toContain('embedded datapath serves every queue from one poll loop');
            expect(d.message).toContain(where);
            expect(d.message).toContain('`datapath ovs` with 2 poll-cores');
        }
        const none = await diagnostics(lab({ host: 'cores 0-3  memory 8G  poll-cores 2-3' }));
        expect(none.filter((x) => x.code === 'poll-cores-short')).toEqual([]);
        // One note per bridge, not one per port.
        const two = (await diagnostics(lab({ b: 'cpus 4  memory 256M', portA: 'bridge br0  ip 10.0.0.1/24  queues 2', portB: 'bridge br0  ip 10.0.0.2/24  queues 4' }))).filter((x) => x.code === 'poll-cores-short');
        expect(two).toHaveLength(1);
        expect(two[0].message).toContain('as for 1 more multi-queue port or NIC on br0');
        expect(two[0].message).toContain('`datapath ovs` with 4 poll-cores'); // enough for the port with the most queues
        // A multi-queue NIC on an embedded bridge is served by the same loop.
        const nic = (await diagnostics(lab({ elements: 'nic up { driver tap  queues 4  bridge br0 }' }))).filter((x) => x.code === 'poll-cores-short');
        expect(nic).toHaveLength(1);
        expect(nic[0].message).toContain('nic up has 4 queues but the embedded datapath serves every queue from one poll loop');
    });

    it('counts an OvS bridge\'s multi-queue NICs against its poll-cores, as its ports', async () => {
        const ovs = (nic: string, host = 'cores 0-3  memory 8G  hugepages 1G  poll-cores 3') =>
            lab({ host, elements: `bridge sw { datapath ovs }  ${nic}` });
        const [d, ...rest] = (await diagnostics(ovs('nic up { driver af_packet veth0  queues 2  bridge sw }'))).filter((x) => x.code === 'poll-cores-short');
        expect(rest).toEqual([]);
        expect(d?.message).toContain('nic up has 2 queues but the OvS-DPDK datapath polls on 1 core (poll-cores 3)');
        expect(d.message).toContain('Give the host 2 poll-cores');
        const enough = await diagnostics(ovs('nic up { driver af_packet veth0  queues 2  bridge sw }', 'cores 0-3  memory 8G  hugepages 1G  poll-cores 2-3'));
        expect(enough.filter((x) => x.code === 'poll-cores-short')).toEqual([]);
    });

    it('states the memory totals', async () => {
        const [d] = (await diagnostics(lab({ host: 'cores 0-3  memory 384M' }))).filter((x) => x.code === 'memory-over-host');
        expect(d.message).toContain('512M for 2 VMs');
        expect(d.message).toContain('384M');
    });

    it('adds the OvS-DPDK reserve to the memory total', async () => {
        const text = lab({ host: 'cores 0-3  memory 8G  hugepages 512M  poll-cores 3', elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' });
        const [d] = (await diagnostics(text)).filter((x) => x.code === 'memory-over-hugepages');
        expect(d.message).toContain('+ OvS-DPDK 128M = 640M');
    });

    it('lets rss lines add up (not a repeated property)', async () => {
        const text = lab({ elements: 'nic up { driver tap  queues 2  rss ipv4-tcp  rss ipv4-udp  bridge br0 }' });
        // (Its two queues on the embedded bridge get the one-poll-loop note, and nothing else.)
        expect((await diagnostics(text)).map((d) => d.code)).toEqual(['poll-cores-short']);
    });

    it('accepts value words as names', async () => {
        const text = 'topology t { host { cores 0-1 memory 1G } bridge ovs { datapath ovs } vm server { port client { bridge ovs } } }';
        expect((await diagnostics(text)).filter((d) => d.severity === 'error')).toEqual([]);
    });

    it('takes K/M/G sizes, fractional sizes and core lists', async () => {
        const text = lab({ host: 'cores 0-1,2,3  memory 1.5G', a: 'cpus 2  memory 262144K  pin 0,1' });
        expect((await diagnostics(text)).filter((d) => d.severity === 'error')).toEqual([]);
    });

    it('takes an ovsdb socket only as unix: plus an absolute path that fits sockaddr_un', async () => {
        const withDb = (db: string) => lab({ host: `${OVS_HOST}  ovsdb "${db}"`, elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24' });
        const long = `unix:/${'d'.repeat(107)}`;
        for (const bad of ['tcp:127.0.0.1:6640', 'unix:db.sock', 'punix:/run/db.sock', 'unix:/run/ovs/', long, '']) {
            const ds = (await diagnostics(withDb(bad))).filter((d) => d.code === 'ovsdb-invalid');
            expect(ds, bad).toHaveLength(1);
            expect(ds[0].message).toContain('unix:/var/run/openvswitch/db.sock');
        }
        expect((await diagnostics(withDb(`unix:/${'d'.repeat(106)}`))).filter((d) => d.code === 'ovsdb-invalid')).toEqual([]);
    });

    it('does not ask for hugepages for an existing OvS, and keeps `ovsdb` usable as a name', async () => {
        const text = lab({ host: 'cores 0-3  memory 8G  poll-cores 3  ovsdb "unix:/run/openvswitch/db.sock"', elements: 'bridge ovsdb { datapath ovs }', portB: 'bridge ovsdb  ip 10.0.1.2/24' });
        expect((await diagnostics(text)).map((d) => d.code)).toEqual([]);
    });

    it('VLANs: trunk lists and ranges, a native VLAN counts as carried, links join segments, other VLANs may use other subnets', async () => {
        const vlanLab = (portA: string, portB: string, elements = '') => lab({ elements, portA, portB });
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  trunk 10-12,20', 'bridge br0  ip 10.0.0.2/24  trunk 10,11,12,20'))).toEqual([]);
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  trunk 12-10', 'bridge br0  ip 10.0.0.2/24'))).toEqual(['vlan-out-of-range']);
        // A port without settings carries every VLAN: an access port next to it is not alone.
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  vlan 10', 'bridge br0  ip 10.0.0.2/24'))).toEqual([]);
        // VLAN 10 on a linked bridge is not alone; other subnets on other VLANs are no mismatch.
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  vlan 10', 'bridge br1  ip 10.0.0.2/24  vlan 10', 'bridge br1  link br0 br1'))).toEqual([]);
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  trunk 10,20  native-vlan 10', 'bridge br0  ip 10.0.20.2/24  vlan 20', 'vm c { memory 256M  port eth0 { bridge br0  ip 10.0.0.3/24  vlan 10 } }'))).toEqual([]);
        expect(await codes(vlanLab('bridge br0  ip 10.0.0.1/24  vlan 20', 'bridge br0  ip 10.0.20.2/24  vlan 20'))).toEqual(['subnet-mismatch']);
        const d = (await diagnostics(vlanLab('bridge br0  ip 10.0.0.1/24  vlan 10  vlan 20', 'bridge br0  ip 10.0.0.2/24  vlan 20'))).map((x) => x.code);
        expect(d).toEqual(['property-duplicate']);
        const alone = (await diagnostics(vlanLab('bridge br0  ip 10.0.0.1/24  trunk 10,30', 'bridge br0  ip 10.0.0.2/24  vlan 10'))).find((x) => x.code === 'vlan-alone');
        expect(alone?.message).toMatch(/port a\.eth0 is the only port on bridge br0 that carries VLAN 30/);
    });

    it('reports a duplicate name once, on the second declaration', async () => {
        const ds = (await diagnostics(lab({ elements: 'vm br0 { port e { bridge br0 } }' }))).filter((d) => d.code === 'duplicate-name');
        expect(ds).toHaveLength(1);
        expect(ds[0].message).toContain("bridge 'br0' already uses it");
    });
});
