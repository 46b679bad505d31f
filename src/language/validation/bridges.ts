import type { ValidationAcceptor, ValidationChecks } from 'langium';
import type { Bridge, Link, Nic, Port, Topology, VtopoAstType } from '../generated/ast.js';
import { bridgeDatapath, bridgeMtu, nicMtu, portMrgRxbuf, portMtu, portVhost } from '../defaults.js';
import { describe, replaceFix, report } from './report.js';
import { indexTopology } from './topology-index.js';
import { prop } from '../props.js';
import { DATAPATH_NAME, LIMITS } from '../../core/limits.js';

function mtuRange(accept: ValidationAcceptor, node: Bridge | Port | Nic): boolean {
    const mtu = prop(node, 'mtu');
    const dp = bridgeDatapath(node.$type === 'Bridge' ? node : prop(node, 'bridge')?.ref);
    const { min, max } = LIMITS[dp].mtu;
    if (mtu === undefined || (mtu >= min && mtu <= max)) return true;
    const to = Math.min(Math.max(mtu, min), max);
    report(accept, 'mtu-out-of-range',
        `MTU ${mtu} of ${describe(node)} is outside ${min}..${max}, what ${DATAPATH_NAME[dp]} accepts (IPv4 minimum to the largest vhost-user frame); use e.g. 1500 or 9000.`,
        node, { property: 'mtu', fixes: replaceFix(node, 'mtu', String(to), `Set mtu to ${to}`) });
    return false;
}

function withinBridge(accept: ValidationAcceptor, node: Port | Nic, mtu: number): void {
    const bridge = prop(node, 'bridge')?.ref;
    if (!bridge || prop(node, 'mtu') === undefined || mtu <= bridgeMtu(bridge)) return;
    report(accept, 'mtu-exceeds-bridge',
        `MTU ${mtu} of ${describe(node)} is above the MTU ${bridgeMtu(bridge)} of ${describe(bridge)}; larger frames would be dropped at the bridge. ` +
        `Lower it to ${bridgeMtu(bridge)} or raise the bridge's mtu.`,
        node, { property: 'mtu', fixes: replaceFix(node, 'mtu', String(bridgeMtu(bridge)), `Set mtu to ${bridgeMtu(bridge)} (the bridge's)`) });
}

function bridgeRequired(accept: ValidationAcceptor, node: Port | Nic): void {
    if (prop(node, 'bridge')) return;
    report(accept, 'bridge-missing',
        `${describe(node)} names no bridge, so it would be connected to nothing; add \`bridge <name>\` inside it.`, node, { property: 'name' });
}

export const bridgeChecks: ValidationChecks<VtopoAstType> = {
    Bridge(bridge: Bridge, accept) {
        mtuRange(accept, bridge);
    },
    Port(port: Port, accept) {
        bridgeRequired(accept, port);
        const bridge = prop(port, 'bridge')?.ref;
        if (bridge && bridgeDatapath(bridge) === 'ovs' && portVhost(port) === 'server') {
            report(accept, 'vhost-server-on-ovs',
                `${describe(port)} uses \`vhost server\` on the OvS bridge ${bridge.name}: OvS then creates a deprecated dpdkvhostuser port, ` +
                `which reports no statistics and drops the guest when the switch restarts. Use \`vhost client\` (QEMU serves the socket, OvS reconnects).`,
                port, { property: 'vhost', fixes: replaceFix(port, 'vhost', 'client', 'Use vhost client') });
        }
        if (!mtuRange(accept, port)) return;
        const mtu = portMtu(port);
        withinBridge(accept, port, mtu);
        if (mtu > 1500 && !portMrgRxbuf(port)) {
            report(accept, 'jumbo-without-mrg-rxbuf',
                `${describe(port)} carries MTU ${mtu} frames with \`mrg-rxbuf off\`: without mergeable rx buffers a frame must fit one ` +
                `guest buffer, so frames above 1500 bytes are dropped. Turn mrg-rxbuf on or keep the MTU at 1500.`,
                port, { property: 'mrgRxbuf', fixes: replaceFix(port, 'mrgRxbuf', 'on', 'Turn mrg-rxbuf on') });
        }
    },
    Nic(nic: Nic, accept) {
        bridgeRequired(accept, nic);
        if (mtuRange(accept, nic)) withinBridge(accept, nic, nicMtu(nic));
    },
    Link(link: Link, accept) {
        const a = link.a?.ref;
        const b = link.b?.ref;
        if (!a || !b) return;
        if (a === b) {
            report(accept, 'link-self', `\`link ${a.name} ${b.name}\` joins a bridge to itself, which only loops frames back; link two different bridges.`, link, { property: 'b' });
        } else if (bridgeDatapath(a) !== bridgeDatapath(b)) {
            report(accept, 'link-datapath-mismatch',
                `\`link ${a.name} ${b.name}\` joins an ${bridgeDatapath(a)} bridge with an ${bridgeDatapath(b)} bridge; a link is a patch port pair inside one datapath. ` +
                `Put both bridges on the same datapath.`, link);
        }
    },
    Topology(topo: Topology, accept) {
        const idx = indexTopology(topo);
        for (const link of idx.cycleLinks) {
            report(accept, 'link-cycle',
                `\`link ${link.a.ref?.name} ${link.b.ref?.name}\` closes a loop: these bridges are already joined by other links, and the bridges run no spanning tree, ` +
                `so broadcast frames would circle forever. Remove one link of the loop.`, link);
        }
        const used = new Set<Bridge>();
        for (const x of [...idx.ports, ...idx.nics]) {
            const bridge = prop(x, 'bridge')?.ref;
            if (bridge) used.add(bridge);
        }
        for (const l of idx.links) {
            if (l.a?.ref) used.add(l.a.ref);
            if (l.b?.ref) used.add(l.b.ref);
        }
        for (const b of idx.bridges) {
            if (used.has(b)) continue;
            report(accept, 'bridge-unused',
                `${describe(b)} has no port, NIC or link attached, so it carries no traffic; attach something with \`bridge ${b.name}\` in a port, or remove it.`,
                b, { property: 'name' });
        }
    },
};
