/** Hand-built FabricPlans for the OVN backends (the plan stage builds the real ones). */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import type { FabricHostPlan, FabricPlan, LogicalRouterPlan, LogicalSwitchPlan } from '../../src/core/plan.js';

export interface TestFabric {
    topology: string;
    dir: string;
    fabric: FabricPlan;
}

/**
 * `hosts` netns hosts h1..hN on 172.31.<subnet>.0/24 (short paths: unix
 * sockets are limited to 107 bytes), a private central on h1.
 */
export function testFabric(tag: string, hosts: number, subnet = 77): TestFabric {
    const topology = `ovn${tag}`;
    const dir = mkdtempSync(`/tmp/vt-${tag}-`);
    const hs: FabricHostPlan[] = Array.from({ length: hosts }, (_x, i) => {
        const name = `h${i + 1}`;
        const runDir = path.join(dir, name);
        return {
            name,
            kind: 'netns',
            netns: `vt-${tag}-${name}`,
            underlay: `172.31.${subnet}.${i + 1}/24`,
            chassis: `${topology}-${name}`,
            ovs: { runDir, dbSocket: path.join(runDir, 'db.sock'), integrationBridge: 'br-int', filePrefix: `vt-${tag}-${name}` },
            controller: { pidFile: path.join(runDir, 'ovn-controller.pid'), logFile: path.join(runDir, 'ovn-controller.log') },
            vms: [],
        };
    });
    const c = path.join(dir, 'central');
    return {
        topology,
        dir,
        fabric: {
            engine: 'ovn',
            encap: 'geneve',
            underlayMtu: 1600,
            central: { kind: 'private', host: 'h1', dir: c, nbSocket: path.join(c, 'nb.sock'), sbSocket: path.join(c, 'sb.sock'), sbRemote: `tcp:172.31.${subnet}.1:6642` },
            hosts: hs,
            switches: [],
            routers: [],
            underlayNetns: `vt-${tag}-ul`,
        },
    };
}

/** A switch with one port per [vm, host, mac, ip]. */
export function logicalSwitch(name: string, ports: [vm: string, host: string, mac: string, ip?: string][], mtu = 1400): LogicalSwitchPlan {
    return {
        name,
        mtu,
        ports: ports.map(([vm, host, mac, ip]) => ({ name: `${vm}.eth0`, vm, host, addresses: ip ? `${mac} ${ip}` : mac })),
    };
}

export function router(name: string, ports: [sw: string, mac: string, network: string][], routes: LogicalRouterPlan['routes'] = []): LogicalRouterPlan {
    return { name, ports: ports.map(([sw, mac, network]) => ({ name: `${name}-${sw}`, switch: sw, mac, network })), routes };
}
