/**
 * An L2 learning bridge: learns source MACs, forwards known unicast to one
 * port, floods broadcast/multicast/unknown to every other port, drops
 * frames over the bridge MTU. Patch links are ports like any other.
 */
import type { Frame } from '../virtio/frame.js';
import { MacTable } from './mac-table.js';
import type { Port } from './port.js';
import type { Engine } from './engine.js';

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
        this.ports.push(p);
    }

    detach(p: Port): void {
        const i = this.ports.indexOf(p);
        if (i >= 0) this.ports.splice(i, 1);
        this.macs.forgetPort(p.num);
        p.bridge = undefined;
    }

    /** A frame received on `src`. */
    input(src: Port, f: Frame): void {
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
        const now = this.engine.now;
        if ((u8[off + 6] & 1) === 0) this.macs.learn(u8, off + 6, src.num, now);
        if ((u8[off] & 1) === 0) {
            const p = this.macs.lookup(u8, off, now);
            if (p >= 0) {
                const dst = this.engine.portArr[p];
                if (dst !== undefined && dst !== src && dst.bridge === this) {
                    this.forwarded++;
                    dst.transmit(f);
                }
                return;
            }
        }
        this.flooded++;
        const ports = this.ports;
        for (let i = 0; i < ports.length; i++) {
            const p = ports[i];
            if (p !== src) p.transmit(f);
        }
    }
}
