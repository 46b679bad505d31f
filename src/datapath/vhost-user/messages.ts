/** vhost-user wire format (QEMU docs/interop/vhost-user.rst). */

export const Req = {
    GET_FEATURES: 1,
    SET_FEATURES: 2,
    SET_OWNER: 3,
    RESET_OWNER: 4,
    SET_MEM_TABLE: 5,
    SET_LOG_BASE: 6,
    SET_LOG_FD: 7,
    SET_VRING_NUM: 8,
    SET_VRING_ADDR: 9,
    SET_VRING_BASE: 10,
    GET_VRING_BASE: 11,
    SET_VRING_KICK: 12,
    SET_VRING_CALL: 13,
    SET_VRING_ERR: 14,
    GET_PROTOCOL_FEATURES: 15,
    SET_PROTOCOL_FEATURES: 16,
    GET_QUEUE_NUM: 17,
    SET_VRING_ENABLE: 18,
    SEND_RARP: 19,
    NET_SET_MTU: 20,
    SET_BACKEND_REQ_FD: 21,
    IOTLB_MSG: 22,
    SET_VRING_ENDIAN: 23,
    GET_CONFIG: 24,
    SET_CONFIG: 25,
} as const;

export const reqName = (r: number): string => Object.entries(Req).find(([, v]) => v === r)?.[0] ?? `REQUEST_${r}`;

export const HDR_LEN = 12;
export const FLAG_VERSION = 0x1;
export const FLAG_REPLY = 0x4;
export const FLAG_NEED_REPLY = 0x8;
/** Largest payload we accept; anything bigger is a broken or hostile frontend. */
export const MAX_PAYLOAD = 4096;
/** SET_VRING_KICK/CALL/ERR: bit 8 of the u64 = no fd (polling). */
export const VRING_NOFD = 0x100;

/** Virtio / vhost feature bits we use. */
export const F = {
    MRG_RXBUF: 15,
    CTRL_VQ: 17,
    MQ: 22,
    ANY_LAYOUT: 27,
    RING_INDIRECT_DESC: 28,
    RING_EVENT_IDX: 29,
    PROTOCOL_FEATURES: 30,
    VERSION_1: 32,
    RING_PACKED: 34,
    IN_ORDER: 35,
} as const;

export const PF = {
    MQ: 0,
    REPLY_ACK: 3,
} as const;

export const featureNames: Record<number, string> = {
    15: 'MRG_RXBUF',
    22: 'MQ',
    27: 'ANY_LAYOUT',
    28: 'RING_INDIRECT_DESC',
    29: 'RING_EVENT_IDX',
    30: 'PROTOCOL_FEATURES',
    32: 'VERSION_1',
    34: 'RING_PACKED',
    35: 'IN_ORDER',
};

export const bit = (n: number): bigint => 1n << BigInt(n);
export const has = (features: bigint, n: number): boolean => (features & bit(n)) !== 0n;

/**
 * IN_ORDER: every path completes chains in the order it took them (TX one
 * by one, RX through the ring or the pfifo backlog, which is FIFO), so it
 * is a promise we already keep. DPDK's vhost library offers it too; without
 * it a DPDK guest ran other rx/tx paths here than on OvS-DPDK, and the
 * benchmark compared different generators.
 *
 * RING_PACKED is always offered: the switch serves both layouts, and the
 * frontend decides (QEMU negotiates it only with `packed=on`, testpmd's
 * virtio-user only with `packed_vq=1`), so the datapath needs no per-port
 * setting and a port keeps working whichever layout its guest asks for.
 */
export const SUPPORTED_FEATURES =
    bit(F.MRG_RXBUF) | bit(F.MQ) | bit(F.ANY_LAYOUT) | bit(F.RING_INDIRECT_DESC) | bit(F.RING_EVENT_IDX) | bit(F.PROTOCOL_FEATURES) | bit(F.VERSION_1) | bit(F.RING_PACKED) | bit(F.IN_ORDER);
export const SUPPORTED_PROTOCOL_FEATURES = bit(PF.MQ) | bit(PF.REPLY_ACK);

export interface Message {
    request: number;
    flags: number;
    payload: Uint8Array;
    fds: number[];
}

export function encodeReply(request: number, payload: Uint8Array): Uint8Array {
    const b = new Uint8Array(HDR_LEN + payload.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, request, true);
    dv.setUint32(4, FLAG_VERSION | FLAG_REPLY, true);
    dv.setUint32(8, payload.length, true);
    b.set(payload, HDR_LEN);
    return b;
}

export function u64Payload(v: bigint): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    return b;
}

export function stateBytes(index: number, num: number): Uint8Array {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, index, true);
    dv.setUint32(4, num, true);
    return b;
}

export function featureList(features: bigint): string[] {
    const out: string[] = [];
    for (const [b, name] of Object.entries(featureNames)) if (has(features, Number(b))) out.push(name);
    return out;
}
