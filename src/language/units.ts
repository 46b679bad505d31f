/** Literal parsing shared by the checker, the plan and hovers. Pure. */
import { ifnameOk, SUN_PATH_BYTES } from '../core/limits.js';

const UNIT: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** `512M`, `1G`, `1.5G`, `64KiB` → bytes (binary units); undefined when malformed. */
export function parseSize(text: string): number | undefined {
    const m = /^([0-9]+(?:\.[0-9]+)?)([KMGTkmgt])(?:i?[Bb])?$/.exec(text.trim());
    if (!m) return undefined;
    return Math.round(Number.parseFloat(m[1]) * UNIT[m[2].toLowerCase()]);
}

/** Bytes → the shortest exact `NK|NM|NG` form (falls back to bytes). */
export function formatSize(bytes: number): string {
    for (const [suffix, unit] of [['T', UNIT.t], ['G', UNIT.g], ['M', UNIT.m], ['K', UNIT.k]] as const) {
        if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
    }
    return `${bytes}B`;
}

/** `0-1,3` → [0,1,3] (sorted, unique); undefined when malformed or a range runs backwards. */
export function parseCoreList(text: string | number): number[] | undefined {
    const out = new Set<number>();
    for (const part of String(text).split(',')) {
        const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part.trim());
        if (!m) return undefined;
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        // Above 2^53 `c++` no longer changes c: an unsafe bound would loop forever.
        if (!Number.isSafeInteger(hi) || hi < lo || hi - lo > 4096) return undefined;
        for (let c = lo; c <= hi; c++) out.add(c);
    }
    return [...out].sort((a, b) => a - b);
}

export interface Cidr { address: string; prefix: number; octets: number[] }

/** `10.0.0.1/24` → parts; undefined when an octet or the prefix is out of range. */
export function parseCidr(text: string): Cidr | undefined {
    const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)(?:\/([0-9]+))?$/.exec(text.trim());
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    const prefix = m[5] === undefined ? 32 : Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return undefined;
    return { address: octets.join('.'), prefix, octets };
}

/** The network address of a CIDR as a 32-bit unsigned number. */
export function networkOf(c: Cidr): number {
    const addr = ((c.octets[0] << 24) | (c.octets[1] << 16) | (c.octets[2] << 8) | c.octets[3]) >>> 0;
    const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
    return (addr & mask) >>> 0;
}

/**
 * A host interface name that is safe to hand to the kernel, `ip` and DPDK
 * devargs: at most 15 bytes (IFNAMSIZ-1), not `.`/`..`, letters, digits,
 * `_`, `.` and `-`, not starting with `-` (it would read as an option) and
 * without `,`/`=` (they would add DPDK devargs).
 */
export function isValidIfname(name: string): boolean {
    return ifnameOk(name);
}

/** `52:54:00:00:00:01` → six bytes; undefined unless exactly six hex octets. */
export function parseMac(text: string): number[] | undefined {
    const parts = text.split(':');
    if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return undefined;
    return parts.map((p) => Number.parseInt(p, 16));
}


/**
 * `unix:/var/run/openvswitch/db.sock` → `/var/run/openvswitch/db.sock`, the
 * socket of an existing OvS database; undefined unless it is `unix:` with an
 * absolute path that fits a unix socket address. Other OVSDB remotes (tcp:,
 * ssl:, punix:) are refused: the OvS must be on this host, and a relative
 * path would depend on the directory vtopo runs from.
 */
export function parseOvsdbRemote(text: string): string | undefined {
    const m = /^unix:(\/[^\0-\x1f\x7f]*)$/.exec(text);
    if (!m || m[1].endsWith('/') || new TextEncoder().encode(m[1]).length > SUN_PATH_BYTES) return undefined;
    return m[1];
}
