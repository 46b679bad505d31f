/**
 * The multi-host part of a Plan (issue 20): hosts, the OVN fabric that joins
 * them, and the logical topology (switches, routers) OVN carries. Plain data,
 * produced by the plan stage, consumed by the OVN and per-host backends,
 * exports and status. Present only when the file declares named hosts and a
 * `fabric` block; a single-host file's Plan has no `fabric`.
 */

/** How a host of the fabric is reached. */
export type FabricHostKind = 'local' | 'netns' | 'ssh';

export interface FabricHostPlan {
    name: string;
    kind: FabricHostKind;
    /** kind ssh: `user@addr`. */
    ssh?: string;
    /** kind netns: the namespace vtopo creates (e.g. `vtopo-<topology>-<host>`), <= 15 chars for the veth side names. */
    netns?: string;
    /** CIDR of this host's tunnel endpoint on the underlay, e.g. 172.31.0.2/24. */
    underlay: string;
    /** An existing interface that carries the underlay (kind ssh / local on real machines). Absent: vtopo builds it (netns: veths). */
    uplink?: { kind: 'af_packet'; iface: string };
    /** OVN chassis name (Open_vSwitch external_ids:system-id). */
    chassis: string;
    /** This host's own OvS: its run directory and database socket. */
    /**
     * This host's own OvS: its run directory and database socket. `filePrefix`:
     * DPDK's file prefix (default `vtopo-<topology>-<host>`); `pollCores`: its
     * PMD cores (default: OvS's choice).
     */
    ovs: { runDir: string; dbSocket: string; integrationBridge: string; filePrefix?: string; pollCores?: number[] };
    /** ovn-controller's pid file and log on this host. */
    controller: { pidFile: string; logFile: string };
    /** Names of the VMs placed on this host. */
    vms: string[];
}

/** Where OVN_Northbound / OVN_Southbound and ovn-northd run. */
export type OvnCentralPlan =
    | {
          /** vtopo runs NB, SB ovsdb-servers and ovn-northd for this topology on host `host`. */
          kind: 'private';
          host: string;
          dir: string;
          nbSocket: string;
          sbSocket: string;
          /** What ovn-controllers use to reach the SB: `tcp:<central underlay address>:6642`. */
          sbRemote: string;
      }
    | {
          /** An existing OVN: vtopo touches only NB rows whose external_ids name this topology. */
          kind: 'external';
          nb: string;
          /** The existing OVN's Southbound, for status and for removing a dead chassis (absent: neither). */
          sb?: string;
      };

export interface LogicalSwitchPortPlan {
    /** Logical_Switch_Port name = the OvS interface's external_ids:iface-id; the VM port id `<vm>.<port>`. */
    name: string;
    vm: string;
    host: string;
    /** "MAC IP" as OVN's addresses / port_security take them (IP absent: "MAC"). */
    addresses: string;
    /** The guest's address (CIDR) and gateway: verify pings guests of other hosts by them. */
    ip?: string;
    gateway?: string;
}

export interface LogicalSwitchPlan {
    /** The bridge's name. */
    name: string;
    mtu: number;
    ports: LogicalSwitchPortPlan[];
}

export interface LogicalRouterPortPlan {
    /** `<router>-<switch>`. */
    name: string;
    switch: string;
    mac: string;
    /** CIDR, e.g. 10.0.1.254/24. */
    network: string;
    /** The router-type Logical_Switch_Port on the switch (default `<switch>-<router>`; it may not equal `name`: both become SB port bindings). */
    switchPort?: string;
}

export interface LogicalRouterPlan {
    name: string;
    ports: LogicalRouterPortPlan[];
    routes: { prefix: string; nexthop: string }[];
}

export interface FabricPlan {
    engine: 'ovn';
    encap: 'geneve' | 'vxlan';
    underlayMtu: number;
    central: OvnCentralPlan;
    hosts: FabricHostPlan[];
    switches: LogicalSwitchPlan[];
    routers: LogicalRouterPlan[];
    /** The namespace holding the underlay's linux bridge for hosts whose underlay vtopo builds (default `vtopo-<topology>-ul`). */
    underlayNetns?: string;
    /**
     * The hosts whose part this machine runs: every local and netns host, or
     * the one host of `vtopo deploy FILE --host H` (`scope`). The others are
     * ssh hosts, deployed there by vtopo's own CLI over OpenSSH. Absent
     * (plans persisted before it existed): every host but the ssh ones.
     */
    here?: string[];
    /** `--host H`: this plan is host H's part alone (its run directory is `<topology>@H`). */
    scope?: string;
}

/** The hosts this machine runs (see FabricPlan.here). */
export function hostsHere(f: FabricPlan): FabricHostPlan[] {
    return f.here ? f.hosts.filter((h) => f.here!.includes(h.name)) : f.hosts.filter((h) => h.kind !== 'ssh');
}

/** The ssh hosts whose part vtopo deploys over OpenSSH from this machine (none in a `--host` plan). */
export function hostsOverSsh(f: FabricPlan): FabricHostPlan[] {
    if (f.scope) return [];
    const here = new Set(hostsHere(f).map((h) => h.name));
    return f.hosts.filter((h) => h.kind === 'ssh' && !here.has(h.name));
}

/** Whether this machine runs the private OVN central (NB, SB, northd). */
export function centralHere(f: FabricPlan): boolean {
    return f.central.kind === 'private' && hostsHere(f).some((h) => h.name === (f.central as { host: string }).host);
}

/**
 * Whether this machine's deploy writes the Northbound: it runs the private
 * central, or the OVN is an existing one (each host's deploy writes the
 * same rows from the same file, so any of them may).
 */
export function writesNorthbound(f: FabricPlan): boolean {
    return f.central.kind === 'external' || centralHere(f);
}

/** Bytes the encapsulation adds to each overlay frame (IPv4 underlay; Geneve with OVN's 8-byte option). */
export const ENCAP_OVERHEAD: Readonly<Record<FabricPlan['encap'], number>> = { geneve: 58, vxlan: 50 };

/** external_ids key that marks OVN rows (and a host's bridges) as a topology's own: an existing OVN is shared. */
export const TOPOLOGY_KEY = 'vtopo-topology';
/** The underlay bridge on each host's OvS, whose internal port carries the tunnel endpoint. */
export const UNDERLAY_BRIDGE = 'br-phy';

/** external_ids key on a Logical_Switch: the digest of the routers attached to it (L3_KEY_OF). */
export const L3_KEY = 'vtopo-l3';

/**
 * A digest of every router with a port on switch `sw` (its ports and routes).
 * Stored on the switch's NB row, so a redeploy that changes only a router or
 * a route finds the switch out of date and rewrites the Northbound; FNV-1a,
 * as this module imports nothing.
 */
export function l3KeyOf(f: FabricPlan, sw: string): string {
    const text = JSON.stringify(f.routers.filter((r) => r.ports.some((p) => p.switch === sw)));
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, '0');
}

/** The router-type Logical_Switch_Port on a switch for a router port. */
export function routerSwitchPort(router: string, rp: { switch: string; switchPort?: string }): string {
    return rp.switchPort ?? `${rp.switch}-${router}`;
}

/**
 * What ovn-controller reads from Open_vSwitch.external_ids to become host
 * `h`'s chassis; undefined when the Southbound is unknown (an existing OVN
 * whose `ovn-sb` the file does not name; the checker refuses that file).
 */
export function chassisExternalIds(f: FabricPlan, h: FabricHostPlan): Record<string, string> | undefined {
    const remote = f.central.kind === 'private' ? f.central.sbRemote : f.central.sb;
    if (!remote) return undefined;
    return {
        'system-id': h.chassis,
        hostname: h.chassis,
        'ovn-remote': remote,
        'ovn-encap-type': f.encap,
        'ovn-encap-ip': h.underlay.split('/')[0],
        'ovn-bridge': h.ovs.integrationBridge,
        'ovn-bridge-datapath-type': 'netdev',
    };
}
