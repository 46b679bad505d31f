/** vhost-user messages as a frontend writes them (QEMU docs/interop/vhost-user.rst). */
import { F, FLAG_NEED_REPLY, FLAG_VERSION, HDR_LEN, PF, Req, bit } from '../../src/datapath/vhost-user/messages.js';

export { F, FLAG_NEED_REPLY, FLAG_VERSION, HDR_LEN, PF, Req, bit };

export function message(request: number, payload: Uint8Array = new Uint8Array(0), flags = FLAG_VERSION, size = payload.length): Uint8Array {
    const b = new Uint8Array(HDR_LEN + payload.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, request >>> 0, true);
    dv.setUint32(4, flags >>> 0, true);
    dv.setUint32(8, size >>> 0, true);
    b.set(payload, HDR_LEN);
    return b;
}

export function u64(v: bigint): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return b;
}

export function vringState(index: number, num: number): Uint8Array {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, index >>> 0, true);
    dv.setUint32(4, num >>> 0, true);
    return b;
}

/** struct vhost_vring_addr: index, flags, desc/used/avail/log user addresses. */
export function vringAddr(index: number, desc: bigint, used: bigint, avail: bigint, flags = 0, log = 0n): Uint8Array {
    const b = new Uint8Array(40);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, index >>> 0, true);
    dv.setUint32(4, flags >>> 0, true);
    dv.setBigUint64(8, BigInt.asUintN(64, desc), true);
    dv.setBigUint64(16, BigInt.asUintN(64, used), true);
    dv.setBigUint64(24, BigInt.asUintN(64, avail), true);
    dv.setBigUint64(32, BigInt.asUintN(64, log), true);
    return b;
}

export interface RegionDesc { gpa: bigint; size: bigint; uva: bigint; offset: bigint }

/** struct VhostUserMemory: nregions, padding, then (gpa, size, uva, mmap_offset) per region. */
export function memTable(regions: RegionDesc[], nregions = regions.length): Uint8Array {
    const b = new Uint8Array(8 + 32 * regions.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, nregions >>> 0, true);
    regions.forEach((r, i) => {
        const o = 8 + 32 * i;
        dv.setBigUint64(o, BigInt.asUintN(64, r.gpa), true);
        dv.setBigUint64(o + 8, BigInt.asUintN(64, r.size), true);
        dv.setBigUint64(o + 16, BigInt.asUintN(64, r.uva), true);
        dv.setBigUint64(o + 24, BigInt.asUintN(64, r.offset), true);
    });
    return b;
}

/** Features a benign virtio-net frontend asks for. */
export const GUEST_FEATURES = bit(F.VERSION_1) | bit(F.MRG_RXBUF) | bit(F.PROTOCOL_FEATURES) | bit(F.RING_INDIRECT_DESC);
export const GUEST_PROTOCOL_FEATURES = bit(PF.REPLY_ACK) | bit(PF.MQ);
