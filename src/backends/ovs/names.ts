/**
 * How vtopo objects are named and marked inside OvS. Every Bridge, Port and
 * Interface we create carries external_ids vtopo-topology=<topology>, so
 * inventory, status and teardown find ours (and only ours) even in a shared
 * OvS, and a vtopo-id that maps back to the plan's identity.
 */
import { createHash } from 'node:crypto';
import type { LinkPlan, NicPlan, Plan, VmPortPlan } from '../../core/plan.js';

export const K_TOPOLOGY = 'vtopo-topology';
export const K_KIND = 'vtopo-kind';
export const K_ID = 'vtopo-id';
export const K_BRIDGE = 'vtopo-bridge';

export type OvsObjectKind = 'bridge' | 'vm-port' | 'nic' | 'link';

/** The netdev datapath makes a tap named after the bridge: Linux caps names at 15 bytes. */
export function ovsBridgeName(bridge: string): string {
    if (bridge.length <= 15) return bridge;
    return `vt${createHash('sha1').update(bridge).digest('hex').slice(0, 12)}`;
}

/** dpdkvhostuser names the socket file after the interface, so the id must be a file name. */
export function vmPortIfName(port: VmPortPlan): string {
    return port.id.replace(/\//g, '_');
}

/** The same names `vtopo export --format ovs-vsctl` writes. */
export function nicIfName(nic: NicPlan): string {
    return nic.name;
}

/** The two patch ports of a link, one on each bridge. */
export function linkIfNames(link: LinkPlan): { a: string; b: string } {
    return { a: `patch-${link.a}-${link.b}`, b: `patch-${link.b}-${link.a}` };
}

export function marks(plan: Plan, kind: OvsObjectKind, id: string, bridge: string): Record<string, string> {
    return { [K_TOPOLOGY]: plan.topology, [K_KIND]: kind, [K_ID]: id, [K_BRIDGE]: bridge };
}
