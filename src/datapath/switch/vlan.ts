/**
 * 802.1Q at a bridge port, as OvS does it. A port without VLAN settings
 * carries every VLAN: untagged (or priority-tagged) frames are VLAN 0,
 * tagged ones their VLAN, and they leave it in the form they came. An
 * access port is one VLAN, untagged on the port. A trunk carries its VLANs
 * tagged, and its native VLAN (when set) untagged. The bridge classifies a
 * frame once at ingress and re-tags (a copy) only for ports that want
 * another form.
 */
import type { VlanPlan } from '../../core/plan.js';
import { copyBytes, Frame } from '../virtio/frame.js';
import { frameBuffer, type FrameBuffer } from '../virtio/guest-memory.js';

export const VLAN_NONE = 0;
export const VLAN_ACCESS = 1;
export const VLAN_TRUNK = 2;

/** A port's VLAN settings in the form the per-frame path reads. */
export interface VlanPort {
    vlanMode: number;
    /** Access VLAN, or a trunk's native VLAN (0 = none). */
    vlanTag: number;
    /** Trunk: 1 for each VLAN carried (the native one included). */
    vlanAllowed: Uint8Array | undefined;
    drop(reason: string): void;
}

export function applyVlan(p: VlanPort, cfg: VlanPlan | undefined): void {
    if (!cfg) {
        p.vlanMode = VLAN_NONE;
        p.vlanTag = 0;
        p.vlanAllowed = undefined;
    } else if (cfg.mode === 'access') {
        p.vlanMode = VLAN_ACCESS;
        p.vlanTag = cfg.tag;
        p.vlanAllowed = undefined;
    } else {
        const a = new Uint8Array(4096);
        for (const v of cfg.trunks) a[v] = 1;
        if (cfg.native) a[cfg.native] = 1;
        p.vlanMode = VLAN_TRUNK;
        p.vlanTag = cfg.native ?? 0;
        p.vlanAllowed = a;
    }
}

/** Checks a control op's `vlan` argument; returns an error text or undefined. */
export function vlanError(v: unknown): string | undefined {
    if (v === undefined || v === null) return undefined;
    const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 4094;
    const o = v as { mode?: unknown; tag?: unknown; trunks?: unknown; native?: unknown };
    if (o.mode === 'access') return ok(o.tag) ? undefined : "vlan.tag must be a VLAN id 1-4094";
    if (o.mode === 'trunk') {
        if (!Array.isArray(o.trunks) || o.trunks.length === 0 || !o.trunks.every(ok)) return 'vlan.trunks must be a non-empty list of VLAN ids 1-4094';
        if (o.native !== undefined && !ok(o.native)) return 'vlan.native must be a VLAN id 1-4094';
        return undefined;
    }
    return "vlan.mode must be 'access' or 'trunk'";
}

/**
 * The VLAN of a frame entering on `p`, or -1 when the port does not take
 * it (counted by reason). `tagVid`: the frame's tag VID, -1 when untagged.
 */
export function ingressVlan(p: VlanPort, tagVid: number): number {
    const mode = p.vlanMode;
    if (mode === VLAN_NONE) return tagVid < 0 ? 0 : tagVid;
    if (mode === VLAN_ACCESS) {
        if (tagVid > 0) {
            p.drop('vlan-tagged');
            return -1;
        }
        return p.vlanTag;
    }
    if (tagVid > 0) {
        if (p.vlanAllowed![tagVid] === 1) return tagVid;
        p.drop('vlan-not-allowed');
        return -1;
    }
    if (p.vlanTag > 0) return p.vlanTag;
    p.drop('vlan-untagged');
    return -1;
}

/**
 * The tag VID a frame of VLAN `vid` leaves `p` with: -1 untagged, -2 when
 * the port does not carry the VLAN. `tagVid` is the form it came in: VLAN
 * 0 between ports without settings keeps it (untagged or priority-tagged).
 */
export function egressTag(p: VlanPort, vid: number, tagVid: number): number {
    const mode = p.vlanMode;
    if (mode === VLAN_NONE) return vid === 0 ? tagVid : vid;
    if (mode === VLAN_ACCESS) return vid === p.vlanTag ? -1 : -2;
    if (vid === 0 || p.vlanAllowed![vid] !== 1) return -2;
    return vid === p.vlanTag ? -1 : vid;
}

/** Largest frame a variant holds: the datapath's 64 KiB frames plus a tag. */
const VARIANT_BYTES = 65536 + 8;

/**
 * Re-tagged copies of the frame being switched. A bridge's input may run
 * inside another's (patch links), so each hop depth has its own buffers;
 * they are made on first use, as the vhost scratch is (after the guests
 * are mapped into the arena).
 */
export class Retagger {
    private readonly bufs: (FrameBuffer | undefined)[] = [];
    private readonly frames: Frame[] = [];

    /** `f` with its tag removed (tagVid -1) or set to `tagVid` (PCP kept from `tci`). */
    make(f: Frame, tagged: boolean, tci: number, tagVid: number, slot: 0 | 1): Frame {
        const k = f.hops * 2 + slot;
        const b = (this.bufs[k] ??= frameBuffer(VARIANT_BYTES));
        const out = (this.frames[k] ??= new Frame());
        const dst = b.mem;
        const u8 = dst.u8;
        const o = b.off;
        // Headers: the two MACs, then the tag if wanted, then the rest from after the old tag.
        copyBytes(f.mem, f.off, dst, o, 12);
        const rest = tagged ? 16 : 12;
        let len = 12;
        if (tagVid >= 0) {
            const t = (tci & 0xf000) | tagVid;
            u8[o + 12] = 0x81;
            u8[o + 13] = 0x00;
            u8[o + 14] = t >>> 8;
            u8[o + 15] = t & 0xff;
            len = 16;
        }
        copyBytes(f.mem, f.off + rest, dst, o + len, f.len - rest);
        out.mem = dst;
        out.off = o;
        out.len = len + f.len - rest;
        out.hash = f.hash;
        out.hops = f.hops;
        return out;
    }
}
