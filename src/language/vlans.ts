/**
 * A port's or NIC's 802.1Q settings as the plan and the checker read them:
 * `vlan N` (access) or `trunk LIST` with an optional `native-vlan N`.
 * Shared so a file that checks clean compiles to what the checker checked.
 */
import type { VlanPlan } from '../core/plan.js';
import type { Nic, Port } from './generated/ast.js';
import { parseCoreList } from './units.js';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

const last = <T>(xs: readonly T[] | undefined): T | undefined => xs?.[xs.length - 1];

export const vlanValid = (v: number | undefined): v is number => v !== undefined && Number.isInteger(v) && v >= VLAN_MIN && v <= VLAN_MAX;

/** What the block says, unchecked: the access VLAN, the trunk list (undefined if unreadable), the native VLAN. */
export function vlanSettings(n: Port | Nic): { access?: number; trunk?: number[]; trunkText?: string; native?: number } {
    const trunkText = last(n.trunk);
    return {
        access: last(n.vlan),
        ...(trunkText !== undefined ? { trunkText: String(trunkText), trunk: parseCoreList(trunkText) } : {}),
        native: last(n.nativeVlan),
    };
}

/** The plan's VlanPlan; undefined for a block without VLAN settings (or with ones the checker refuses). */
export function vlanOf(n: Port | Nic): VlanPlan | undefined {
    const s = vlanSettings(n);
    if (s.trunkText !== undefined) {
        if (!s.trunk || !s.trunk.every(vlanValid)) return undefined;
        return { mode: 'trunk', trunks: s.trunk, ...(vlanValid(s.native) ? { native: s.native } : {}) };
    }
    return vlanValid(s.access) ? { mode: 'access', tag: s.access } : undefined;
}

/** The VLANs a block carries: undefined = every VLAN (no settings). */
export function carried(v: VlanPlan | undefined): number[] | undefined {
    if (!v) return undefined;
    return v.mode === 'access' ? [v.tag] : [...new Set([...v.trunks, ...(v.native ? [v.native] : [])])];
}

/** The VLAN of the block's untagged frames (its address): 0 without settings, undefined when a trunk drops them. */
export function untaggedVlanOf(v: VlanPlan | undefined): number | undefined {
    if (!v) return 0;
    return v.mode === 'access' ? v.tag : v.native;
}
