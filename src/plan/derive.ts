/**
 * Stable names derived from declared names. Pure: the same topology always
 * yields the same MACs, tap names and prefixes, so a re-deploy or a fresh
 * process finds what an earlier deploy created.
 */
import { createHash } from 'node:crypto';
import { IFNAME_BYTES } from '../core/limits.js';

export function hashHex(text: string): string {
    return createHash('sha256').update(text).digest('hex');
}

/**
 * A locally administered unicast MAC from `topology/vm/port`. The first
 * octet is 0x02|…: bit 1 (local) set, bit 0 (multicast) clear, so it never
 * collides with vendor MACs nor QEMU's 52:54:00 default.
 */
export function deriveMac(topology: string, vm: string, port: string, salt = 0): string {
    const h = hashHex(`${topology}/${vm}/${port}${salt ? `#${salt}` : ''}`);
    const bytes = [0x02, ...[0, 1, 2, 3, 4].map((i) => Number.parseInt(h.slice(i * 2, i * 2 + 2), 16))];
    return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Linux caps interface names at IFNAMSIZ-1 = 15 characters. */
export const MAX_IFNAME = IFNAME_BYTES;

/**
 * Host tap name for a NIC: `vt<4 hex of topology>-<nic>`, the nic part
 * shortened with a hash when it would not fit. Unique per topology and host.
 */
export function deriveTapName(topology: string, nic: string): string {
    const prefix = `vt${hashHex(topology).slice(0, 4)}-`;
    const clean = nic.replace(/[^A-Za-z0-9_-]/g, '_');
    if (prefix.length + clean.length <= MAX_IFNAME) return prefix + clean;
    const keep = MAX_IFNAME - prefix.length - 4;
    return prefix + clean.slice(0, keep) + hashHex(`${topology}/${nic}`).slice(0, 4);
}

/** DPDK file-prefix / netns name unique to a topology (short, safe characters). */
export function deriveInstanceName(topology: string): string {
    const clean = topology.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 16);
    return `vtopo-${clean}-${hashHex(topology).slice(0, 6)}`;
}
