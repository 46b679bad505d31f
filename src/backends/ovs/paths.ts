/** Where a topology's OvS lives: every path derives from the plan alone. */
import * as path from 'node:path';
import type { OvsDatapathPlan, Plan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';

export const VSWITCHD_DPDK = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const DPDK_RUNTIME_ROOT = '/var/run/dpdk';

export interface OvsPaths {
    mode: 'private' | 'existing';
    runDir: string;
    dbFile: string;
    dbSocket: string;
    ovsdbPid: string;
    ovsdbCtl: string;
    ovsdbLog: string;
    vswitchdPid: string;
    vswitchdCtl: string;
    vswitchdLog: string;
    /** stdout/stderr of the daemons before they detach (startup errors land here). */
    startLog: string;
    netns: string;
    filePrefix: string;
    /** Present in argv of both daemons: how we recognise our processes (procs.isOurs). */
    marker: string;
}

export function ovsPlan(plan: Plan): OvsDatapathPlan {
    const o = plan.datapaths.ovs;
    if (!o) {
        throw new VtopoError(`topology ${plan.topology} has no OvS datapath in its plan`,
            'declare a bridge with `datapath ovs`, or re-run `vtopo deploy` so the plan is rebuilt');
    }
    return o;
}

export function ovsPaths(plan: Plan): OvsPaths {
    const o = ovsPlan(plan);
    if (o.mode === 'fabric') {
        // Each host of a fabric has its own OvS (FabricHostPlan.ovs): the fabric backend serves those.
        throw new VtopoError(`topology ${plan.topology} spans hosts: its OvS instances are per host, not one of this machine`, 'use the fabric backend (src/backends/ovn) for this plan');
    }
    const runDir = o.runDir;
    const safe = plan.topology.replace(/[^A-Za-z0-9_-]/g, '_');
    return {
        mode: o.mode,
        runDir,
        dbFile: path.join(runDir, 'conf.db'),
        dbSocket: o.dbSocket,
        ovsdbPid: path.join(runDir, 'ovsdb-server.pid'),
        ovsdbCtl: path.join(runDir, 'ovsdb-server.ctl'),
        ovsdbLog: path.join(runDir, 'ovsdb-server.log'),
        vswitchdPid: path.join(runDir, 'ovs-vswitchd.pid'),
        vswitchdCtl: path.join(runDir, 'ovs-vswitchd.ctl'),
        vswitchdLog: path.join(runDir, 'ovs-vswitchd.log'),
        startLog: path.join(runDir, 'daemons.out'),
        netns: o.netns ?? `vtopo-${safe}`,
        filePrefix: o.filePrefix ?? `vtopo-${safe}`,
        marker: runDir,
    };
}

/** A CPU list as the hex mask OvS wants for pmd-cpu-mask. */
export function cpuMask(cores: number[]): string | undefined {
    if (cores.length === 0) return undefined;
    let mask = 0n;
    for (const c of cores) mask |= 1n << BigInt(c);
    return `0x${mask.toString(16)}`;
}
