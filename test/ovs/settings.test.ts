/**
 * Pure mapping from a Plan to what the OvS backend writes: the private
 * instance's Open_vSwitch other_config (dpdkSettings) and a NIC's Interface
 * row (nicInterface). No OvS, no host: plans are built by hand.
 */
import { describe, expect, it } from 'vitest';
import { dpdkDevargs, nicInterface, rxqAffinity, rxqPlacement } from '../../src/backends/ovs/index.js';
import { dpdkSettings, NO_HUGE_MEMORY_MB } from '../../src/backends/ovs/instance.js';
import type { NicPlan, OvsDatapathPlan, Plan } from '../../src/core/plan.js';

function plan(ovs: Partial<OvsDatapathPlan> = {}, nics: NicPlan[] = [], pollCores = [1]): Plan {
    return {
        version: 1,
        topology: 'lab',
        sourceFile: '/src/lab.vtopo',
        runDir: '/run/vtopo/lab',
        host: { cores: [0, 1, 2, 3], memoryBytes: 4 << 30, pollCores },
        datapaths: {
            ovs: {
                mode: 'private', dbSocket: '/run/vtopo/lab/ovs/db.sock', runDir: '/run/vtopo/lab/ovs',
                netns: 'vtopo-lab-1a2b', filePrefix: 'vtopo-lab-1a2b', socketMemMb: 128, ...ovs,
            },
        },
        bridges: [{ name: 'br0', datapath: 'ovs', mtu: 1500 }, { name: 'lan', datapath: 'embedded', mtu: 1500 }],
        links: [],
        nics,
        vms: [],
        notes: [],
    };
}

function nic(name: string, driver: NicPlan['driver'], over: Partial<NicPlan> = {}): NicPlan {
    return { name, bridge: 'br0', datapath: 'ovs', driver, queues: 1, rss: [], mtu: 1500, ...over };
}

const extra = (s: Record<string, string>) => s['dpdk-extra'].split(' ');

describe('dpdkSettings: the private OvS-DPDK other_config', () => {
    it('without hugepages: --no-huge --legacy-mem with -m, and no socket-mem, socket-limit or hugepage dir', () => {
        const s = dpdkSettings(plan({ noHuge: true, pmdCpuMask: '0x2' }), 2);
        expect(s['dpdk-init']).toBe('true');
        expect(extra(s)).toEqual(['--file-prefix=vtopo-lab-1a2b', '--no-pci', '--no-telemetry', '--no-huge', '--legacy-mem', '-m', String(NO_HUGE_MEMORY_MB)]);
        // -m together with dpdk-socket-mem aborts DPDK init.
        expect(s).not.toHaveProperty('dpdk-socket-mem');
        expect(s).not.toHaveProperty('dpdk-socket-limit');
        expect(s).not.toHaveProperty('dpdk-hugepage-dir');
    });

    it('a socket-mem above the no-huge floor raises -m', () => {
        expect(extra(dpdkSettings(plan({ noHuge: true, socketMemMb: 4096 }), 2)).slice(-2)).toEqual(['-m', '4096']);
    });

    it('with hugepages: socket-mem = socket-limit, the hugetlbfs mount as hugepage dir, no --no-huge', () => {
        const s = dpdkSettings(plan({ hugepageDir: '/run/vtopo/lab/hugepages', socketMemMb: 256 }), 2);
        expect(s['dpdk-socket-mem']).toBe('256');
        expect(s['dpdk-socket-limit']).toBe('256');
        expect(s['dpdk-hugepage-dir']).toBe('/run/vtopo/lab/hugepages');
        expect(extra(s)).toEqual(['--file-prefix=vtopo-lab-1a2b', '--no-pci', '--no-telemetry']);
    });

    it('socket-mem defaults to 128 MB', () => {
        const s = dpdkSettings(plan({ hugepageDir: '/hp', socketMemMb: undefined }), 2);
        expect([s['dpdk-socket-mem'], s['dpdk-socket-limit']]).toEqual(['128', '128']);
    });

    it('pmd-cpu-mask: the plan\'s mask, else one bit per poll core, else none', () => {
        expect(dpdkSettings(plan({ pmdCpuMask: '0xc' }), 2)['pmd-cpu-mask']).toBe('0xc');
        expect(dpdkSettings(plan({}, [], [1, 3]), 2)['pmd-cpu-mask']).toBe('0xa');
        expect(dpdkSettings(plan({}, [], [0]), 2)['pmd-cpu-mask']).toBe('0x1');
        expect(dpdkSettings(plan({}, [], []), 2)).not.toHaveProperty('pmd-cpu-mask');
    });

    it('pmd-maxsleep=1000 on hosts of up to 4 CPUs (a busy PMD starves TCG guests), none on larger ones', () => {
        expect(dpdkSettings(plan(), 2)['pmd-maxsleep']).toBe('1000');
        expect(dpdkSettings(plan(), 4)['pmd-maxsleep']).toBe('1000');
        expect(dpdkSettings(plan(), 5)).not.toHaveProperty('pmd-maxsleep');
    });

    it('lets OvS place unpinned rx queues next to pinned ones', () => {
        expect(dpdkSettings(plan(), 2)).toMatchObject({ 'pmd-rxq-assign': 'group', 'pmd-rxq-isolate': 'false' });
    });

    it('allows exactly the PCI NICs on ovs bridges instead of --no-pci', () => {
        const nics = [
            nic('fast', { kind: 'pci', address: '0000:03:00.0' }),
            nic('fast2', { kind: 'pci', address: '0000:03:00.1' }),
            nic('wan', { kind: 'af_packet', iface: 'eth1' }),
            nic('up', { kind: 'tap', ifname: 'vt-up' }),
            // A pci NIC the checker would refuse on the embedded datapath never reaches DPDK's allowlist.
            nic('odd', { kind: 'pci', address: '0000:05:00.0' }, { bridge: 'lan', datapath: 'embedded' }),
        ];
        const x = extra(dpdkSettings(plan({ hugepageDir: '/hp' }, nics), 2));
        expect(x).not.toContain('--no-pci');
        expect(x).toEqual(['--file-prefix=vtopo-lab-1a2b', '-a', '0000:03:00.0', '-a', '0000:03:00.1', '--no-telemetry']);
    });

    it('keeps --no-pci when the only NICs are tap and af_packet', () => {
        const nics = [nic('wan', { kind: 'af_packet', iface: 'eth1' }), nic('up', { kind: 'tap', ifname: 'vt-up' })];
        expect(extra(dpdkSettings(plan({ noHuge: true }, nics), 2))).toContain('--no-pci');
    });

    it('puts the allowlist next to --no-huge as well', () => {
        const x = extra(dpdkSettings(plan({ noHuge: true }, [nic('fast', { kind: 'pci', address: '0000:03:00.0' })]), 2));
        expect(x).toEqual(['--file-prefix=vtopo-lab-1a2b', '-a', '0000:03:00.0', '--no-telemetry', '--no-huge', '--legacy-mem', '-m', String(NO_HUGE_MEMORY_MB)]);
    });
});

describe('nicInterface: a NIC as an OvS Interface row', () => {
    it('tap: a net_tap vdev named after the NIC, on the planned tap name', () => {
        const n = nic('up', { kind: 'tap', ifname: 'vt-lab-up' }, { queues: 2, mtu: 1400 });
        expect(dpdkDevargs(n)).toBe('net_tap_up,iface=vt-lab-up');
        expect(nicInterface(n)).toEqual({
            type: 'dpdk',
            options: ['map', [['dpdk-devargs', 'net_tap_up,iface=vt-lab-up'], ['n_rxq', '2']]],
            mtu_request: 1400,
        });
    });

    it('af_packet: a net_af_packet vdev on the host interface with one queue pair per queue', () => {
        const n = nic('wan', { kind: 'af_packet', iface: 'eth1' }, { queues: 4 });
        expect(nicInterface(n)).toEqual({
            type: 'dpdk',
            options: ['map', [['dpdk-devargs', 'net_af_packet_wan,iface=eth1,qpairs=4'], ['n_rxq', '4']]],
            mtu_request: 1500,
        });
    });

    it('pci: the PCI address itself as devargs, n_rxq from queues, mtu_request from the NIC', () => {
        const n = nic('fast', { kind: 'pci', address: '0000:03:00.0' }, { queues: 8, mtu: 9000 });
        expect(nicInterface(n)).toEqual({
            type: 'dpdk',
            options: ['map', [['dpdk-devargs', '0000:03:00.0'], ['n_rxq', '8']]],
            mtu_request: 9000,
        });
    });
});

describe('rxqAffinity: pinning a port\'s rx queues to PMD cores', () => {
    it('pins to our poll cores on a private OvS', () => {
        expect(rxqAffinity(plan({}, [], [1]), [1, 1])).toBe('0:1,1:1');
        // A queue on a core with no PMD would never be polled: let OvS place them all.
        expect(rxqAffinity(plan({}, [], [1]), [0, 1])).toBeUndefined();
    });

    it('never pins on an existing OvS, whatever its PMD cores (pinning isolates a shared PMD)', () => {
        const p = plan({ mode: 'existing', rxqPlacement: 'scheduler' }, [], [1]);
        expect(rxqAffinity(p, [1, 1])).toBeUndefined();
        expect(rxqAffinity(p, [0, 1])).toBeUndefined();
        // A plan persisted before rxqPlacement existed: existing means scheduler, private means pinned.
        expect(rxqAffinity(plan({ mode: 'existing' }, [], [1]), [1])).toBeUndefined();
        expect(rxqAffinity(plan({ pmdCpuMask: '0x2' }, [], [1]), [1])).toBe('0:1');
        expect(rxqPlacement(plan({ mode: 'existing' }))).toBe('scheduler');
        expect(rxqPlacement(plan())).toBe('pinned');
    });
});
