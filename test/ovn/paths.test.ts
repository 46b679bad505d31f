/** The OVN backend's pure parts: refusals, chassis settings, names that must fit the kernel's limits. */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { chassisSettings } from '../../src/backends/ovn/hosts.js';
import { checkSupported, hostNetns, hostOvsPlan, remoteAddress, underlayMac, underlayPeerName } from '../../src/backends/ovn/paths.js';
import { testFabric } from '../support/fabric-plan.js';

describe('OVN backend paths and settings', () => {
    const { topology, fabric, dir } = testFabric('pp', 2);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses an ssh host without an uplink and a simulated host with one, naming the fix', () => {
        const ssh = { ...fabric.hosts[1], kind: 'ssh' as const, ssh: 'root@198.51.100.3', netns: undefined };
        expect(() => checkSupported(ssh)).toThrow(/ssh host without an uplink/);
        const onUplink = { ...ssh, uplink: { kind: 'af_packet' as const, iface: 'eth1' } };
        expect(() => checkSupported(onUplink)).not.toThrow();
        // A host on its own uplink runs its OvS where vtopo runs, not in a namespace.
        expect(hostNetns(topology, onUplink)).toBe('');
        expect(hostOvsPlan(topology, onUplink).datapaths.ovs!.netns).toBe('');
        expect(() => checkSupported({ ...fabric.hosts[1], uplink: { kind: 'af_packet', iface: 'eth1' } })).toThrow(/simulated in a namespace but names uplink eth1/);
        expect(() => checkSupported(fabric.hosts[1])).not.toThrow();
    });

    it('makes each host a chassis that reaches the SB over the underlay with its own tunnel address', () => {
        expect(chassisSettings(fabric, fabric.hosts[1])).toEqual({
            'system-id': 'ovnpp-h2', hostname: 'ovnpp-h2', 'ovn-remote': 'tcp:172.31.77.1:6642', 'ovn-encap-type': 'geneve',
            'ovn-encap-ip': '172.31.77.2', 'ovn-bridge': 'br-int', 'ovn-bridge-datapath-type': 'netdev',
        });
        expect(() => chassisSettings({ ...fabric, central: { kind: 'external', nb: 'tcp:192.0.2.10:6641' } }, fabric.hosts[0])).toThrow(/Southbound address is unknown/);
        expect(remoteAddress('tcp:172.31.77.1:6642')).toBe('172.31.77.1');
    });

    it('runs each host\'s OvS in its own namespace with its own DPDK prefix', () => {
        const [a, b] = fabric.hosts.map((h) => hostOvsPlan(topology, h).datapaths.ovs!);
        expect(a.netns).toBe(hostNetns(topology, fabric.hosts[0]));
        expect(a.netns).not.toBe(b.netns);
        expect(a.filePrefix).not.toBe(b.filePrefix);
        expect(hostNetns(topology, { ...fabric.hosts[0], kind: 'local', netns: undefined })).toBe(`vtopo-${topology}`);
    });

    it('names underlay veths within IFNAMSIZ and gives each host its own fixed MAC', () => {
        const long = { ...fabric.hosts[0], name: 'a-very-long-host-name' };
        expect(underlayPeerName(fabric.hosts[0])).toBe('u-h1');
        expect(underlayPeerName(long).length).toBeLessThanOrEqual(15);
        expect(underlayPeerName(long)).not.toBe(underlayPeerName({ ...long, name: 'a-very-long-host-name2' }));
        expect(underlayMac(topology, fabric.hosts[0])).toMatch(/^02(:[0-9a-f]{2}){5}$/);
        expect(underlayMac(topology, fabric.hosts[0])).not.toBe(underlayMac(topology, fabric.hosts[1]));
    });
});
