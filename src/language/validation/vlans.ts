/**
 * 802.1Q settings (`vlan`, `trunk`, `native-vlan` on ports and NICs): ids
 * in 1..4094, one mode per block, a native VLAN only on a trunk, and a
 * warning for a VLAN that no other port of its L2 segment carries (its
 * frames would reach no one).
 */
import type { ValidationAcceptor, ValidationChecks } from 'langium';
import type { Nic, Port, Topology, VtopoAstType } from '../generated/ast.js';
import { carried, VLAN_MAX, VLAN_MIN, vlanOf, vlanSettings, vlanValid } from '../vlans.js';
import { describe, report } from './report.js';
import { prop } from '../props.js';
import { indexTopology } from './topology-index.js';

function settings(node: Port | Nic, accept: ValidationAcceptor): void {
    const s = vlanSettings(node);
    const range = `VLAN ids are ${VLAN_MIN}..${VLAN_MAX} (0 and 4095 are reserved by 802.1Q)`;
    if (s.access !== undefined && !vlanValid(s.access)) {
        report(accept, 'vlan-out-of-range', `VLAN ${s.access} of ${describe(node)} is out of range: ${range}.`, node, { property: 'vlan', index: node.vlan.length - 1 });
    }
    if (s.trunkText !== undefined) {
        const bad = s.trunk?.filter((v) => !vlanValid(v));
        if (!s.trunk || bad!.length > 0) {
            report(accept, 'vlan-out-of-range',
                `trunk ${s.trunkText} of ${describe(node)} ${s.trunk ? `lists VLAN ${bad!.join(', ')}, out of range` : 'is not a VLAN list (a range runs backwards)'}: ${range}; write e.g. \`trunk 10,20,30\`.`,
                node, { property: 'trunk', index: node.trunk.length - 1 });
        }
    }
    if (s.native !== undefined && !vlanValid(s.native)) {
        report(accept, 'vlan-out-of-range', `native-vlan ${s.native} of ${describe(node)} is out of range: ${range}.`, node, { property: 'nativeVlan', index: node.nativeVlan.length - 1 });
    }
    if (s.access !== undefined && s.trunkText !== undefined) {
        report(accept, 'vlan-access-and-trunk',
            `${describe(node)} is both an access port (\`vlan ${s.access}\`) and a trunk (\`trunk ${s.trunkText}\`); choose one: \`vlan N\` for one untagged VLAN, ` +
            `or \`trunk …\` with \`native-vlan ${s.access}\` to carry VLAN ${s.access} untagged on the trunk.`,
            node, { property: 'vlan', index: node.vlan.length - 1 });
    }
    if (s.native !== undefined && s.trunkText === undefined) {
        report(accept, 'native-vlan-without-trunk',
            `native-vlan ${s.native} of ${describe(node)} needs a trunk: it names the VLAN of a trunk's untagged frames. ` +
            (s.access !== undefined ? `Drop it (the port is an access port of VLAN ${s.access}), or make the port \`trunk …\`.` : `Add \`trunk ${s.native}\` (and the other VLANs), or use \`vlan ${s.native}\` for an access port.`),
            node, { property: 'nativeVlan', index: node.nativeVlan.length - 1 });
    }
}

/** Per VLAN of each block with settings: does another port or NIC of its segment carry it? */
function alone(t: Topology, accept: ValidationAcceptor): void {
    const idx = indexTopology(t);
    const blocks: (Port | Nic)[] = [...idx.ports, ...idx.nics];
    type Seg = { all: (Port | Nic)[]; by: Map<number, (Port | Nic)[]> };
    const segs = new Map<number, Seg>();
    const vlans = new Map<Port | Nic, number[] | undefined>();
    for (const b of blocks) {
        const br = prop(b, 'bridge')?.ref;
        const seg = br ? idx.segmentOf.get(br) : undefined;
        if (seg === undefined) continue;
        // Settings the checker refuses carry nothing (not every VLAN, as no settings do).
        const v = vlanOf(b);
        const vs = v ? carried(v) : b.vlan.length + b.trunk.length + b.nativeVlan.length > 0 ? [] : undefined;
        vlans.set(b, vs);
        let s = segs.get(seg);
        if (!s) segs.set(seg, (s = { all: [], by: new Map() }));
        if (!vs) s.all.push(b);
        else for (const v of vs) s.by.set(v, [...(s.by.get(v) ?? []), b]);
    }
    for (const b of blocks) {
        const vs = vlans.get(b);
        if (!vs || vs.length === 0) continue;
        const s = segs.get(idx.segmentOf.get(prop(b, 'bridge')!.ref!)!)!;
        const lonely = vs.filter((v) => s.all.every((o) => o === b) && (s.by.get(v) ?? []).every((o) => o === b));
        if (lonely.length === 0) continue;
        const br = prop(b, 'bridge')!.ref!;
        const what = lonely.length === 1 ? `VLAN ${lonely[0]}` : `VLANs ${lonely.join(', ')}`;
        report(accept, 'vlan-alone',
            `${describe(b)} is the only port on bridge ${br.name}${idx.links.length ? ' (or a bridge linked to it)' : ''} that carries ${what}: its frames there reach no one. ` +
            `Put another port on ${what}, or check the VLAN id.`,
            b, vlanOf(b)?.mode === 'trunk' ? { property: 'trunk', index: b.trunk.length - 1 } : { property: 'vlan', index: b.vlan.length - 1 });
    }
}

export const vlanChecks: ValidationChecks<VtopoAstType> = {
    Port: settings,
    Nic: settings,
    Topology: alone,
};
