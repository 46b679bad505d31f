/**
 * The OvS bridges of a plan as a runnable ovs-vsctl script (embedded bridges
 * are skipped); for a plan across hosts, one host's part (ovs-host.ts).
 */
import type { Plan, VlanPlan, VmPortPlan } from '../../core/plan.js';
import { ovsdbString, shq } from './shell.js';

/** The Port's 802.1Q columns (as the OvS backend sets them): access, trunk, or native-untagged with the native VLAN as tag. */
function portVlan(port: string, v: VlanPlan | undefined): string[] {
    if (!v) return [];
    if (v.mode === 'access') return ['--', 'set', 'Port', port, `tag=${v.tag}`, 'vlan_mode=access'];
    const trunks = [...new Set([...v.trunks, ...(v.native ? [v.native] : [])])].sort((a, b) => a - b).join(',');
    return ['--', 'set', 'Port', port, ...(v.native ? [`tag=${v.native}`, `trunks=${trunks}`, 'vlan_mode=native-untagged'] : [`trunks=${trunks}`, 'vlan_mode=trunk'])];
}

/** The opening of an ovs-vsctl script: what it does, the VSCTL hook. */
export function vsctlHeader(what: string): string[] {
    return [
        '#!/bin/sh',
        `# ${what}.`,
        '# Runs against an OvS-DPDK whose ovs-vswitchd is up; point it elsewhere with',
        '#   VSCTL="ovs-vsctl --db=unix:/path/to/db.sock" sh this-script',
        'set -eu',
        'VSCTL=${VSCTL:-ovs-vsctl}',
    ];
}

/**
 * A VM port's Interface columns. client: QEMU serves the socket and OvS
 * connects (dpdkvhostuserclient). server: OvS creates <ovs rundir>/<interface>
 * and QEMU connects to it (deprecated dpdkvhostuser).
 */
export function vhostInterface(p: VmPortPlan): string[] {
    return [...(p.vhostMode === 'client' ? ['type=dpdkvhostuserclient', `options:vhost-server-path=${ovsdbString(p.socketPath)}`] : ['type=dpdkvhostuser']),
        `mtu_request=${p.mtu}`];
}

export function exportOvsVsctl(plan: Plan): string {
    const out = vsctlHeader(`vtopo export --format ovs-vsctl: the OvS bridges of topology ${plan.topology}`);
    const ovs = plan.datapaths.ovs;
    const bridges = plan.bridges.filter((b) => b.datapath === 'ovs');
    if (!ovs || bridges.length === 0) {
        out.push(`# topology ${plan.topology} has no bridge with \`datapath ovs\`: nothing to do.`, '');
        return out.join('\n');
    }
    const sh = (...words: string[]) => out.push(['$VSCTL', ...words.map(shq)].join(' '));
    out.push('', '# DPDK settings vtopo uses for its private instance (take effect when ovs-vswitchd starts).');
    const extra = `--file-prefix=${ovs.filePrefix} --no-pci --no-telemetry${ovs.noHuge ? ' --no-huge --legacy-mem -m 1536' : ''}`;
    sh('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-init=true',
        ...(ovs.noHuge ? [] : [`other_config:dpdk-socket-mem=${ovs.socketMemMb}`, `other_config:dpdk-socket-limit=${ovs.socketMemMb}`]),
        ...(ovs.hugepageDir ? [`other_config:dpdk-hugepage-dir=${ovs.hugepageDir}`] : []),
        `other_config:pmd-cpu-mask=${ovs.pmdCpuMask}`, 'other_config:pmd-maxsleep=1000', `other_config:dpdk-extra=${extra}`);
    for (const b of bridges) {
        out.push('', `# bridge ${b.name}`);
        sh('--may-exist', 'add-br', b.name, '--', 'set', 'Bridge', b.name, 'datapath_type=netdev');
        for (const p of plan.vms.flatMap((v) => v.ports).filter((x) => x.bridge === b.name)) {
            sh('--may-exist', 'add-port', b.name, p.id, '--', 'set', 'Interface', p.id, ...vhostInterface(p), ...portVlan(p.id, p.vlan));
        }
        plan.nics.filter((n) => n.bridge === b.name).forEach((n) => {
            const i = plan.nics.indexOf(n);
            const devargs = n.driver.kind === 'tap' ? `net_tap${i},iface=${n.driver.ifname}`
                : n.driver.kind === 'af_packet' ? `net_af_packet${i},iface=${n.driver.iface},qpairs=${n.queues}` : n.driver.address;
            sh('--may-exist', 'add-port', b.name, n.name, '--', 'set', 'Interface', n.name, 'type=dpdk',
                `options:dpdk-devargs=${devargs}`, `options:n_rxq=${n.queues}`, `mtu_request=${n.mtu}`, ...portVlan(n.name, n.vlan));
        });
    }
    const links = plan.links.filter((l) => bridges.some((b) => b.name === l.a) && bridges.some((b) => b.name === l.b));
    for (const l of links) {
        out.push('', `# link ${l.a} ${l.b}: a pair of patch ports`);
        const [pa, pb] = [`patch-${l.a}-${l.b}`, `patch-${l.b}-${l.a}`];
        sh('--may-exist', 'add-port', l.a, pa, '--', 'set', 'Interface', pa, 'type=patch', `options:peer=${pb}`);
        sh('--may-exist', 'add-port', l.b, pb, '--', 'set', 'Interface', pb, 'type=patch', `options:peer=${pa}`);
    }
    out.push('');
    return out.join('\n');
}
