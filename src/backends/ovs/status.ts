/**
 * OvS Interface rows → vtopo PortStatus, the same JSON shape the embedded
 * datapath reports. OvS counts from the switch's side: rx_* is what the
 * switch received from the guest; so do we (the embedded datapath too).
 */
import type { PortStatus, QueueStatus, VhostState } from '../../core/status.js';
import { K_BRIDGE, K_ID, K_KIND } from './names.js';
import { optional, toNumberRecord, toRecord, type Row } from './ovsdb/values.js';

/** Columns a snapshot or a monitor needs. */
export const INTERFACE_COLUMNS = ['name', 'type', 'link_state', 'status', 'statistics', 'error', 'external_ids', 'ofport', 'options'];

/** Drop counters OvS and DPDK report, named by why the packet was lost. */
const DROP_KEY = /drop|error|fail|discard/;
const TOTAL_DROPS = ['rx_dropped', 'tx_dropped'];

export function interfaceToPortStatus(row: Row): PortStatus | undefined {
    const ext = toRecord(row.external_ids);
    const kind = ext[K_KIND];
    if (kind !== 'vm-port' && kind !== 'nic') return undefined;
    const id = ext[K_ID];
    const status = toRecord(row.status);
    const stats = toNumberRecord(row.statistics);
    const error = optional<string>(row.error);
    const linkState = optional<string>(row.link_state);
    const type = String(row.type ?? '');
    const out: PortStatus = {
        id,
        port: kind === 'vm-port' ? id.slice(id.indexOf('.') + 1) : id,
        bridge: ext[K_BRIDGE] ?? '',
        datapath: 'ovs',
        link: linkState === 'up' ? 'up' : 'down',
        rx_packets: stats.rx_packets ?? 0,
        tx_packets: stats.tx_packets ?? 0,
        rx_bytes: stats.rx_bytes ?? 0,
        tx_bytes: stats.tx_bytes ?? 0,
        drops: TOTAL_DROPS.reduce((n, k) => n + (stats[k] ?? 0), 0),
        queues: queueStats(stats),
    };
    if (kind === 'vm-port') out.vm = id.slice(0, id.indexOf('.'));
    const byReason = Object.fromEntries(Object.entries(stats).filter(([k, v]) => v > 0 && DROP_KEY.test(k) && !/^[rt]x_q\d+_/.test(k)));
    if (Object.keys(byReason).length > 0) out.drops_by_reason = byReason;
    if (error) out.error = error;
    if (type.startsWith('dpdkvhostuser')) {
        out.vhost = vhostState(status, error);
        if (status.num_of_vrings !== undefined) out.num_of_vrings = Number(status.num_of_vrings);
        if (status.features) out.features = virtioFeatureNames(status.features);
    }
    return out;
}

function vhostState(status: Record<string, string>, error: string | undefined): VhostState {
    if (error) return 'failed';
    if (status.status === 'connected') return 'connected';
    // A client keeps re-dialling QEMU's socket; a server listens for QEMU.
    return status.mode === 'server' ? 'waiting' : 'connecting';
}

/**
 * Per-queue counters: vhost ports report rx_qN_good_packets/bytes and
 * guest_notifications (calls into the guest); DPDK NICs rx_qN_packets/bytes.
 */
export function queueStats(stats: Record<string, number>): QueueStatus[] {
    const queues = new Map<number, QueueStatus>();
    const q = (n: number) => {
        let s = queues.get(n);
        if (!s) {
            s = { queue: n, rx_packets: 0, tx_packets: 0, rx_bytes: 0, tx_bytes: 0, drops: 0, kicks: 0, calls: 0, mode: 'poll', mode_switches: 0 };
            queues.set(n, s);
        }
        return s;
    };
    for (const [key, v] of Object.entries(stats)) {
        const m = /^(rx|tx)_q(\d+)_(.+)$/.exec(key);
        if (!m) continue;
        const [, dir, nStr, what] = m;
        const s = q(Number(nStr));
        if (what === 'good_packets' || what === 'packets') s[dir === 'rx' ? 'rx_packets' : 'tx_packets'] = v;
        else if (what === 'good_bytes' || what === 'bytes') s[dir === 'rx' ? 'rx_bytes' : 'tx_bytes'] = v;
        else if (what === 'guest_notifications') s.calls += v;
        else if (/drop|error|miss/.test(what)) s.drops += v;
    }
    return [...queues.values()].sort((a, b) => a.queue - b.queue);
}

const VIRTIO_NET_FEATURES: Record<number, string> = {
    0: 'VIRTIO_NET_F_CSUM', 1: 'VIRTIO_NET_F_GUEST_CSUM', 2: 'VIRTIO_NET_F_CTRL_GUEST_OFFLOADS', 3: 'VIRTIO_NET_F_MTU',
    5: 'VIRTIO_NET_F_MAC', 7: 'VIRTIO_NET_F_GUEST_TSO4', 8: 'VIRTIO_NET_F_GUEST_TSO6', 9: 'VIRTIO_NET_F_GUEST_ECN',
    10: 'VIRTIO_NET_F_GUEST_UFO', 11: 'VIRTIO_NET_F_HOST_TSO4', 12: 'VIRTIO_NET_F_HOST_TSO6', 13: 'VIRTIO_NET_F_HOST_ECN',
    14: 'VIRTIO_NET_F_HOST_UFO', 15: 'VIRTIO_NET_F_MRG_RXBUF', 16: 'VIRTIO_NET_F_STATUS', 17: 'VIRTIO_NET_F_CTRL_VQ',
    18: 'VIRTIO_NET_F_CTRL_RX', 19: 'VIRTIO_NET_F_CTRL_VLAN', 21: 'VIRTIO_NET_F_GUEST_ANNOUNCE', 22: 'VIRTIO_NET_F_MQ',
    23: 'VIRTIO_NET_F_CTRL_MAC_ADDR', 24: 'VIRTIO_F_NOTIFY_ON_EMPTY', 27: 'VIRTIO_F_ANY_LAYOUT', 28: 'VIRTIO_RING_F_INDIRECT_DESC',
    29: 'VIRTIO_RING_F_EVENT_IDX', 30: 'VHOST_USER_F_PROTOCOL_FEATURES', 32: 'VIRTIO_F_VERSION_1', 33: 'VIRTIO_F_ACCESS_PLATFORM',
    34: 'VIRTIO_F_RING_PACKED', 35: 'VIRTIO_F_IN_ORDER', 36: 'VIRTIO_F_ORDER_PLATFORM', 37: 'VIRTIO_F_SR_IOV',
    38: 'VIRTIO_F_NOTIFICATION_DATA', 57: 'VIRTIO_NET_F_HASH_REPORT', 60: 'VIRTIO_NET_F_RSS', 62: 'VIRTIO_NET_F_STANDBY',
    63: 'VIRTIO_NET_F_SPEED_DUPLEX',
};

/** "0x0000000150008000" → feature names (unknown bits as "bitN"). */
export function virtioFeatureNames(hex: string): string[] {
    let bits: bigint;
    try {
        bits = BigInt(hex.startsWith('0x') ? hex : `0x${hex}`);
    } catch {
        return [];
    }
    const out: string[] = [];
    for (let i = 0; i < 64; i++) {
        if ((bits >> BigInt(i)) & 1n) out.push(VIRTIO_NET_FEATURES[i] ?? `bit${i}`);
    }
    return out;
}
