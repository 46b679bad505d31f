/**
 * One host's part of a plan across hosts (plan.fabric) as a runnable
 * ovs-vsctl script, for that host's own OvS-DPDK: what the OVN backend sets
 * up there (src/backends/ovn/hosts.ts): br-phy for the underlay, the
 * integration bridge, the chassis settings ovn-controller reads, and the
 * vhost-user ports of the host's VMs as VIFs (external_ids:iface-id names
 * each one's Logical_Switch_Port).
 */
import { chassisExternalIds, TOPOLOGY_KEY, UNDERLAY_BRIDGE, type FabricHostPlan, type FabricPlan } from '../../core/fabric.js';
import type { Plan } from '../../core/plan.js';
import { vhostInterface, vsctlHeader } from './ovs-vsctl.js';
import { mapWords, oneLine, shq } from './shell.js';

const SB_PLACEHOLDER = '$VTOPO_OVN_REMOTE';

/** A CPU list as the hex mask OvS wants for pmd-cpu-mask. */
function cpuMask(cores: number[]): string {
    return `0x${cores.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16)}`;
}

export function exportOvsHost(plan: Plan, f: FabricPlan, h: FabricHostPlan): string {
    // An existing OVN whose Southbound the file does not name: the user supplies it when running the script.
    const knownSb = chassisExternalIds(f, h);
    const ids = knownSb ?? chassisExternalIds({ ...f, central: { kind: 'external', nb: '', sb: SB_PLACEHOLDER } }, h)!;
    const out = vsctlHeader(`vtopo export --format ovs-vsctl --host ${oneLine(h.name)}: host ${oneLine(h.name)}'s part of topology ${oneLine(plan.topology)}, for its own OvS`);
    if (!knownSb) {
        // Nothing of the file goes into the ${…:?message}: the shell expands it.
        out.push(`# The file names the existing OVN's Northbound (${oneLine(f.central.kind === 'external' ? f.central.nb : '')}), not its Southbound, which ovn-controller needs.`,
            ': "${VTOPO_OVN_REMOTE:?set it to the Southbound of the existing OVN, e.g. tcp:ADDRESS:6642}"');
    }
    const sh = (...words: string[]) => out.push(['$VSCTL', ...words.map(shq)].join(' '));
    const mark = { [TOPOLOGY_KEY]: plan.topology, 'vtopo-host': h.name };
    const br = h.ovs.integrationBridge;

    out.push('', '# DPDK (takes effect when ovs-vswitchd starts; memory: OvS\'s default hugepages).');
    sh('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:dpdk-init=true',
        ...mapWords('other_config', { 'dpdk-extra': `--file-prefix=${h.ovs.filePrefix ?? `vtopo-${plan.topology}-${h.name}`.replace(/[^A-Za-z0-9_-]/g, '_')} --no-pci --no-telemetry` }),
        ...(h.ovs.pollCores?.length ? [`other_config:pmd-cpu-mask=${cpuMask(h.ovs.pollCores)}`] : []));

    out.push('', `# ${UNDERLAY_BRIDGE}: the underlay; its internal port carries the tunnel endpoint ${oneLine(h.underlay)}.`);
    sh('--may-exist', 'add-br', UNDERLAY_BRIDGE, '--', 'set', 'Bridge', UNDERLAY_BRIDGE, 'datapath_type=netdev', ...mapWords('external_ids', mark),
        '--', 'set', 'Interface', UNDERLAY_BRIDGE, `mtu_request=${f.underlayMtu}`);
    if (h.uplink) {
        sh('--may-exist', 'add-port', UNDERLAY_BRIDGE, h.uplink.iface);
    } else {
        out.push(`# Host ${oneLine(h.name)} names no uplink: vtopo deploy builds its underlay from a veth. On a machine of its own, add the`,
            `# interface that carries the underlay: $VSCTL --may-exist add-port ${UNDERLAY_BRIDGE} IFACE`);
    }
    out.push(`# Then the endpoint address (not OvS's): ip addr add ${oneLine(h.underlay)} dev ${UNDERLAY_BRIDGE}; ip link set ${UNDERLAY_BRIDGE} mtu ${f.underlayMtu} up`);

    out.push('', `# ${oneLine(br)}: the integration bridge ovn-controller programs.`);
    sh('--may-exist', 'add-br', br, '--', 'set', 'Bridge', br, 'datapath_type=netdev', 'fail_mode=secure',
        'other_config:disable-in-band=true', ...mapWords('external_ids', mark));

    out.push('', `# The chassis ${oneLine(h.chassis)}: what ovn-controller reads from Open_vSwitch.external_ids.`);
    out.push(['$VSCTL', 'set', 'Open_vSwitch', '.', ...mapWords('external_ids', ids)
        .map((w) => (w.endsWith(`=${JSON.stringify(SB_PLACEHOLDER)}`) ? '"external_ids:ovn-remote=$VTOPO_OVN_REMOTE"' : shq(w)))].join(' '));

    const vms = plan.vms.filter((v) => v.host === h.name || h.vms.includes(v.name));
    for (const vm of vms) {
        out.push('', `# vm ${oneLine(vm.name)}: its ports are VIFs of their logical switch ports`);
        for (const p of vm.ports) {
            sh('--may-exist', 'add-port', br, p.id, '--', 'set', 'Interface', p.id, ...vhostInterface(p), ...mapWords('external_ids', { 'iface-id': p.id }));
        }
    }
    if (vms.length === 0) out.push('', `# Host ${oneLine(h.name)} runs no VM.`);
    out.push('');
    return out.join('\n');
}
