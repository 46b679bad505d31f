/**
 * One host of the fabric on this machine: its namespace, its underlay veth,
 * its own OvS-DPDK (the OvS backend's private instance, run in the host's
 * namespace), br-phy with the tunnel endpoint, the integration bridge, the
 * chassis settings and ovn-controller. Every step reuses what already runs,
 * so a second call after a fault restarts only what is missing.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { FabricHostPlan, FabricPlan } from '../../core/plan.js';
import { chassisExternalIds } from '../../core/fabric.js';
import { VtopoError } from '../../core/api.js';
import { alive, isOurs, readPidFile, terminate, waitGone } from '../../host/procs.js';
import { inNetns, run } from '../ovs/exec.js';
import { startInstance, stopInstance } from '../ovs/instance.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { op, uuid, uuidOf } from '../ovs/ovsdb/values.js';
import { ensureBridge, removePorts, setRootExternalIds, type PortSpec } from './bridges.js';
import { sbTarget } from './nb.js';
import { checkSupported, HOST_VETH, hostNetns, hostOvsPlan, ovnControllerMarker, SB_DB, UNDERLAY_BRIDGE, underlayMac } from './paths.js';
import { deviceExists, ensureHostLink, ensureNetns, moveAddress, removeHostLink, setEndpointAddress } from './underlay.js';

export async function connectHost(h: FabricHostPlan, timeoutMs = 5000): Promise<OvsdbClient> {
    try {
        return await OvsdbClient.connect(h.ovs.dbSocket, { connectTimeoutMs: timeoutMs });
    } catch (e) {
        throw new VtopoError(`cannot reach host ${h.name}'s OvS database at ${h.ovs.dbSocket}: ${(e as Error).message}`,
            'run `vtopo deploy` again to restart that host\'s OvS');
    }
}

async function withHost<T>(h: FabricHostPlan, fn: (c: OvsdbClient) => Promise<T>): Promise<T> {
    const c = await connectHost(h);
    try {
        return await fn(c);
    } finally {
        c.close();
    }
}

/**
 * The host's namespace, underlay veth, OvS-DPDK, br-phy (with the underlay
 * address) and integration bridge. Needs the underlay bridge (ensureUnderlay).
 */
export async function startHostOvs(topology: string, f: FabricPlan, h: FabricHostPlan): Promise<void> {
    checkSupported(h);
    const ns = hostNetns(topology, h);
    if (h.uplink) {
        if (!(await deviceExists(h.uplink.iface))) {
            throw new VtopoError(`host ${h.name}: its uplink ${h.uplink.iface} does not exist here`, `name the interface that carries ${h.underlay} (\`ip -br addr\` lists them)`, 'uplink-missing');
        }
    } else {
        await ensureNetns(ns);
        await ensureHostLink(topology, f, h, ns);
    }
    await startInstance(hostOvsPlan(topology, h));
    const ids = { 'vtopo-topology': topology, 'vtopo-host': h.name };
    await withHost(h, async (c) => {
        await ensureBridge(c, {
            name: UNDERLAY_BRIDGE,
            // A fixed MAC: else OvS takes the veth's, and peers' neighbour entries go stale when it is rebuilt.
            otherConfig: { hwaddr: underlayMac(topology, h) },
            externalIds: ids,
            ports: [{ name: UNDERLAY_BRIDGE, type: 'internal', mtuRequest: f.underlayMtu }, { name: h.uplink?.iface ?? HOST_VETH, type: '' }],
        });
        await ensureBridge(c, {
            name: h.ovs.integrationBridge,
            failMode: 'secure',
            otherConfig: { 'disable-in-band': 'true' },
            externalIds: ids,
            ports: [],
        });
    });
    if (h.uplink) await moveAddress(h.underlay, h.uplink.iface, UNDERLAY_BRIDGE, f.underlayMtu);
    else await setEndpointAddress(ns, UNDERLAY_BRIDGE, h.underlay, f.underlayMtu);
}

/** What ovn-controller reads from Open_vSwitch.external_ids to become this chassis. */
export function chassisSettings(f: FabricPlan, h: FabricHostPlan): Record<string, string> {
    const ids = chassisExternalIds(f, h);
    if (!ids) {
        throw new VtopoError(`host ${h.name} cannot join the existing OVN: its Southbound address is unknown`,
            'add `ovn-sb "tcp:ADDRESS:6642"` (the existing OVN\'s Southbound) to the fabric block, or `central HOST` so vtopo runs OVN itself');
    }
    return ids;
}

export function controllerPid(h: FabricHostPlan): number | undefined {
    const pid = readPidFile(h.controller.pidFile);
    return pid && alive(pid) && isOurs(pid, ovnControllerMarker(h)) ? pid : undefined;
}

/** Makes the host an OVN chassis and starts its ovn-controller (in the host's namespace) unless it runs. */
export async function startController(topology: string, f: FabricPlan, h: FabricHostPlan): Promise<void> {
    await withHost(h, (c) => setRootExternalIds(c, chassisSettings(f, h)));
    if (controllerPid(h)) return;
    const env = { ...process.env, OVS_RUNDIR: h.ovs.runDir, OVN_RUNDIR: h.ovs.runDir, OVS_LOGDIR: h.ovs.runDir, OVN_LOGDIR: h.ovs.runDir };
    const r = await run(...inNetns(hostNetns(topology, h), 'ovn-controller', [`unix:${h.ovs.dbSocket}`,
        `--pidfile=${h.controller.pidFile}`, `--log-file=${h.controller.logFile}`, '-vconsole:off', '--detach', '--no-chdir']),
    { env, timeoutMs: 20_000, umask: 0o077 });
    if (r.code !== 0) {
        throw new VtopoError(`ovn-controller on host ${h.name} did not start (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`,
            /ENOENT|No such file/.test(r.stderr) ? 'apt-get install ovn-host' : `see ${h.controller.logFile}`);
    }
}

/**
 * Ends ovn-controller with `exit` while the SB still runs, so it removes its
 * own Chassis row and tunnel ports; if it was dead already (killed), removes
 * its chassis from the SB ourselves.
 */
export async function stopController(f: FabricPlan, h: FabricHostPlan): Promise<void> {
    const pid = controllerPid(h);
    if (pid) {
        await run('ovs-appctl', ['-t', path.join(h.ovs.runDir, `ovn-controller.${pid}.ctl`), 'exit'], { timeoutMs: 10_000 });
        if (!(await waitGone(pid, 10_000))) await terminate(pid, ovnControllerMarker(h));
    }
    rmSync(h.controller.pidFile, { force: true });
    await removeChassis(f, h.chassis);
}

/** Deletes the Chassis (its Encaps go with it) and Chassis_Private rows of a chassis, if the SB is reachable. */
export async function removeChassis(f: FabricPlan, chassis: string): Promise<void> {
    const target = sbTarget(f);
    if (!target) return;
    let c: OvsdbClient | undefined;
    try {
        c = await OvsdbClient.connect(target, { connectTimeoutMs: 2000 });
        const [ch, priv] = await c.transact(SB_DB, [op.select('Chassis', [['name', '==', chassis]], ['_uuid']), op.select('Chassis_Private', [['name', '==', chassis]], ['_uuid'])]);
        const ops = [...(priv.rows ?? []).map((r) => op.delete('Chassis_Private', [['_uuid', '==', uuid(uuidOf(r._uuid)!)]])),
            ...(ch.rows ?? []).map((r) => op.delete('Chassis', [['_uuid', '==', uuid(uuidOf(r._uuid)!)]]))];
        if (ops.length) await c.transact(SB_DB, ops);
    } catch {
        // No SB (stopped already, or unreachable): nothing there to clean.
    } finally {
        c?.close();
    }
}

/** Stops the host's OvS (which deletes its namespace, and with it the host end of the underlay veth). */
export async function stopHostOvs(topology: string, f: FabricPlan, h: FabricHostPlan): Promise<void> {
    if (h.uplink) {
        // The address goes back to the uplink while br-phy still exists, so the machine is never without it.
        if (await deviceExists(UNDERLAY_BRIDGE)) await moveAddress(h.underlay, UNDERLAY_BRIDGE, h.uplink.iface);
    } else {
        await removeHostLink(topology, f, h);
    }
    await stopInstance(hostOvsPlan(topology, h));
}

/** A VIF on the host's integration bridge: an Interface whose external_ids:iface-id names its Logical_Switch_Port. */
export async function ensureVif(h: FabricHostPlan, port: PortSpec & { ifaceId: string }): Promise<void> {
    await withHost(h, async (c) => {
        const [br] = await c.transact('Open_vSwitch', [op.select('Bridge', [['name', '==', h.ovs.integrationBridge]], ['_uuid'])]);
        if (!br.rows?.length) throw new VtopoError(`host ${h.name} has no integration bridge ${h.ovs.integrationBridge}`, 'run `vtopo deploy` so the host is set up first');
        await ensureBridge(c, {
            name: h.ovs.integrationBridge,
            failMode: 'secure',
            ports: [{ ...port, externalIds: { ...port.externalIds, 'iface-id': port.ifaceId } }],
        });
    });
}

export async function removeVifs(h: FabricHostPlan, names: string[]): Promise<void> {
    await withHost(h, (c) => removePorts(c, names));
}
