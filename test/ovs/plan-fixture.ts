/** A hand-built Plan for an OvS topology: the backend only reads plan data. */
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import type { BridgePlan, Plan, VmPortPlan } from '../../src/core/plan.js';

export function ovsTestPlan(topology: string): Plan {
    // Short paths: unix socket paths are limited to 107 bytes.
    const runDir = mkdtempSync(`/tmp/vt-${topology}-`);
    const ovsDir = path.join(runDir, 'ovs');
    return {
        version: 1,
        topology,
        sourceFile: path.join(runDir, `${topology}.vtopo`),
        runDir,
        host: { cores: [0, 1], memoryBytes: 4 << 30, pollCores: [1] },
        datapaths: {
            ovs: {
                mode: 'private',
                dbSocket: path.join(ovsDir, 'db.sock'),
                runDir: ovsDir,
                netns: `vtopo-${topology}`,
                filePrefix: `vtopo-${topology}`,
                noHuge: true,
            },
        },
        bridges: [],
        links: [],
        nics: [],
        vms: [],
        notes: [],
    };
}

export function bridge(name: string): BridgePlan {
    return { name, datapath: 'ovs', mtu: 1500 };
}

export function vmPort(plan: Plan, vm: string, name: string, bridgeName: string, queues = 1, vhostMode: 'client' | 'server' = 'client'): VmPortPlan {
    return {
        id: `${vm}.${name}`, vm, name, bridge: bridgeName, datapath: 'ovs',
        mac: '52:54:00:00:00:01', mtu: 1500, queues, vhostMode,
        socketPath: path.join(plan.runDir, `${vm}-${name}.sock`),
        mrgRxbuf: true, vectors: 0, queueCores: Array.from({ length: queues }, () => 1),
    };
}
