/**
 * An L2 learning bridge with 802.1Q VLANs (switch/vlan.ts): learns source
 * MACs per VLAN, forwards known unicast to one port, floods broadcast,
 * multicast and unknown unicast to every other port of the frame's VLAN,
 * tags or strips at each port, drops frames over the bridge MTU. Patch
 * links are ports like any other (every VLAN, tagged).
 */
import type { Frame } from '../virtio/frame.js';
import { MacTable } from './mac-table.js';
import type { Port } from './port.js';
import type { Engine } from './engine.js';
import { egressTag, ingressVlan, Retagger, VLAN_NONE } from './vlan.js';

/**
 * How long a port's cached unicast decision is trusted without the table:
 * the slow path then refreshes the source's age and re-checks the
 * destination's. Far below any aging time; long enough that a burst of one
 * flow skips two hash probes and twelve byte loads per frame.
 */
const DECISION_MS = 1;
/** Shared by every bridge: a bridge's input inside another's (patch links) is one hop deeper, with buffers of its own. */
const retag = new Retagger();

export class Bridge {
    readonly ports: Port[] = [];
    readonly macs: MacTable;
    flooded = 0;
    forwarded = 0;
    /** Largest frame accepted: MTU + Ethernet header + one VLAN tag. */
    maxFrame: number;

    constructor(
        readonly name: string,
        public mtu: number,
        private readonly engine: Engine,
        agingMs = 300_000,
    ) {
        this.maxFrame = mtu + 18;
        this.macs = new MacTable(agingMs);
    }

    setMtu(mtu: number): void {
        this.mtu = mtu;
        this.maxFrame = mtu + 18;
    }

    attach(p: Port): void {
        p.bridge = this;
        p.fcGen = -1;
        this.ports.push(p);
    }

    detach(p: Port): void {
        const i = this.ports.indexOf(p);
        if (i >= 0) this.ports.splice(i, 1);
        this.macs.forgetPort(p.num);
        p.bridge = undefined;
        p.fcGen = -1;
    }

    /** A frame received on `src`. */
    input(src: Port, f: Frame): void {
        if (src.linkDown) {
            src.drop('link-down');
            return;
        }
        const len = f.len;
        if (len > this.maxFrame) {
            src.drop('mtu');
            return;
        }
        if (len < 14) {
            src.drop('runt');
            return;
        }
        const u8 = f.mem.u8;
        const off = f.off;
        // 802.1Q: the tag as it came (-1 untagged), and the VLAN the port puts the frame in.
        const tagged = u8[off + 12] === 0x81 && u8[off + 13] === 0x00;
        if (tagged && len < 18) {
            src.drop('runt');
            return;
        }
        const tci = tagged ? (u8[off + 14] << 8) | u8[off + 15] : 0;
        const tagVid = tagged ? tci & 0xfff : -1;
        const vid = src.vlanMode === VLAN_NONE ? (tagVid < 0 ? 0 : tagVid) : ingressVlan(src, tagVid);
        if (vid < 0) return;
        const vkey = vid * 8192 + tagVid + 1;
        const now = this.engine.now;
        const macs = this.macs;
        // Same MAC pair, VLAN and tag form as the port's last known-unicast
        // frame, and the table has not changed since: the same port (frames
        // of one flow come in bursts).
        const aligned = (off & 3) === 0;
        let w0 = 0;
        let w1 = 0;
        let w2 = 0;
        if (aligned) {
            const i32 = f.mem.i32;
            const k = off >>> 2;
            w0 = i32[k];
            w1 = i32[k + 1];
            w2 = i32[k + 2];
            if (w0 === src.fcW0 && w1 === src.fcW1 && w2 === src.fcW2 && vkey === src.fcVlan && src.fcGen === macs.gen && now - src.fcAt < DECISION_MS) {
                const dst = src.fcDst!;
                if (dst.linkDown) dst.drop('link-down');
                else {
                    this.forwarded++;
                    dst.egress(f);
                }
                return;
            }
        }
        if ((u8[off + 6] & 1) === 0) macs.learn(u8, off + 6, vid, src.num, now);
        if ((u8[off] & 1) === 0) {
            const p = macs.lookup(u8, off, vid, now);
            if (p >= 0) {
                const dst = this.engine.portArr[p];
                if (dst !== undefined && dst !== src && dst.bridge === this) {
                    const want = dst.linkDown ? -3 : egressTag(dst, vid, tagVid);
                    if (want === -3) dst.drop('link-down');
                    else
                    if (want === tagVid) {
                        if (aligned) {
                            src.fcW0 = w0;
                            src.fcW1 = w1;
                            src.fcW2 = w2;
                            src.fcVlan = vkey;
                            src.fcDst = dst;
                            src.fcGen = macs.gen;
                            src.fcAt = now;
                        }
                        this.forwarded++;
                        dst.egress(f);
                    } else if (want !== -2) {
                        this.forwarded++;
                        dst.egress(retag.make(f, tagged, tci, want, want < 0 ? 0 : 1));
                    }
                }
                return;
            }
        }
        this.flooded++;
        const ports = this.ports;
        // Each form is made once per flood, for the first port that wants it.
        let untagged: Frame | undefined;
        let retagged: Frame | undefined;
        for (let i = 0; i < ports.length; i++) {
            const p = ports[i];
            if (p === src || p.linkDown) continue;
            const want = egressTag(p, vid, tagVid);
            if (want === tagVid) p.egress(f);
            else if (want === -1) p.egress((untagged ??= retag.make(f, tagged, tci, -1, 0)));
            else if (want >= 0) p.egress((retagged ??= retag.make(f, tagged, tci, want, 1)));
        }
    }
}
