import type { ValidationChecks } from 'langium';
import type { Nic, Port, Topology, VtopoAstType } from '../generated/ast.js';
import { bridgeDatapath, hostPollCores, nicQueues, portQueues, vmCpus, vmHost } from '../defaults.js';
import { describe, replaceFix, report } from './report.js';
import { indexTopology } from './topology-index.js';
import { prop } from '../props.js';
import { DATAPATH_KINDS, DATAPATH_NAME, LIMITS, type NicDriverKind } from '../../core/limits.js';

export const queueChecks: ValidationChecks<VtopoAstType> = {
    Port(port: Port, accept) {
        const q = prop(port, 'queues');
        if (q === undefined) return;
        const bridge = prop(port, 'bridge')?.ref;
        const dp = bridgeDatapath(bridge);
        const range = LIMITS[dp].portQueues;
        if (q < range.min || q > range.max) {
            const to = Math.min(Math.max(q, range.min), range.max);
            const other = DATAPATH_KINDS.filter((k) => k !== dp && q <= LIMITS[k].portQueues.max)
                .map((k) => `; ${DATAPATH_NAME[k]} allows up to ${LIMITS[k].portQueues.max}`).join('');
            const move = other && bridge ? `, or put bridge ${bridge.name} on \`datapath ${DATAPATH_KINDS.find((k) => k !== dp)}\`` : '';
            report(accept, 'queues-out-of-range',
                q < range.min
                    ? `${describe(port)} asks for ${q} queues; a port needs at least ${range.min} queue pair. Set queues ${range.min}.`
                    : `${describe(port)} asks for ${q} queues; ${DATAPATH_NAME[dp]} serves at most ${range.max} queue pairs per port${other}. Set queues ${to}${move}.`,
                port, { property: 'queues', fixes: replaceFix(port, 'queues', String(to), `Set queues to ${to}`) });
            return;
        }
        const cpus = vmCpus(port.$container);
        if (q > cpus) {
            report(accept, 'queues-exceed-cpus',
                `${describe(port)} has ${q} queues but ${describe(port.$container)} has ${cpus} vCPU${cpus === 1 ? '' : 's'}: ` +
                `the guest enables at most one queue pair per vCPU, so the extra queues bring no gain. ` +
                `Set queues ${cpus} or raise cpus to ${q}.`,
                port, { property: 'queues', fixes: replaceFix(port, 'queues', String(cpus), `Set queues to ${cpus} (the VM's vCPUs)`) });
        }
    },
    Topology(topo: Topology, accept) {
        // Every rx queue is served by one poll thread; with fewer poll threads
        // than queues some thread serves several, so they do not run in parallel.
        // OvS-DPDK runs a PMD thread per poll core; the embedded switch runs one
        // poll loop whatever the poll-cores (pinned to all of them).
        const idx = indexTopology(topo);
        // The embedded switch: one note per bridge, on its first multi-queue
        // port (or NIC), not one per port (a 1,000-VM lab would get 1,000 of them).
        const embedded = new Map<string, (Port | Nic)[]>();
        const onEmbedded = (bridge: string, x: Port | Nic) => {
            const list = embedded.get(bridge);
            if (list) list.push(x);
            else embedded.set(bridge, [x]);
        };
        const onOvs = (x: Port | Nic, q: number) => {
            const poll = x.$type === 'Port' ? hostPollCores(vmHost(x.$container)) : idx.pollCores;
            const pollCount = Math.max(poll.length, 1);
            if (q <= pollCount) return;
            const pollText = poll.length ? `poll-cores ${poll.join(',')}` : 'no poll-cores, so one default core';
            report(accept, 'poll-cores-short',
                `${describe(x)} has ${q} queues but the OvS-DPDK datapath polls on ${pollCount} core${pollCount === 1 ? '' : 's'} (${pollText}): ` +
                `one poll thread serves several of its queues, so flows are spread but not processed in parallel. ` +
                `Give the host ${q} poll-cores for full parallelism, or keep queues at ${pollCount}.`,
                x, { property: 'queues' });
        };
        for (const port of idx.ports) {
            const q = portQueues(port);
            const bridge = prop(port, 'bridge')?.ref;
            if (!bridge || q <= 1 || q > LIMITS[bridgeDatapath(bridge)].portQueues.max) continue;
            if (bridgeDatapath(bridge) === 'embedded') onEmbedded(bridge.name, port);
            else onOvs(port, q);
        }
        // On OvS every NIC is a DPDK port (tap and af_packet as vdevs) whose rx queues the PMD threads poll.
        for (const nic of idx.nics) {
            const q = nicQueues(nic);
            const bridge = prop(nic, 'bridge')?.ref;
            const driver = prop(nic, 'driver')?.kind as NicDriverKind | undefined;
            // Over the datapath's limit is an error of its own (nic-queues-exceed-driver).
            if (!bridge || q <= 1 || (driver && q > (LIMITS[bridgeDatapath(bridge)].nicQueues[driver]?.max ?? Infinity))) continue;
            if (bridgeDatapath(bridge) === 'embedded') onEmbedded(bridge.name, nic);
            else onOvs(nic, q);
        }
        const poll = idx.pollCores;
        const where = poll.length > 1 ? `pinned to poll-cores ${poll.join(',')}, on one of them at a time` : poll.length ? `on poll-core ${poll[0]}` : 'on one default core';
        const queuesOf = (x: Port | Nic) => (x.$type === 'Nic' ? nicQueues(x) : portQueues(x));
        for (const [bridge, all] of embedded) {
            const [port, ...others] = all;
            const q = queuesOf(port);
            const most = Math.max(...all.map(queuesOf));
            const more = others.length ? ` (as for ${others.length} more multi-queue ${others.length === 1 ? 'port or NIC' : 'ports and NICs'} on ${bridge})` : '';
            report(accept, 'poll-cores-short',
                `${describe(port)} has ${q} queues${more} but the embedded datapath serves every queue from one poll loop (${where}): ` +
                `flows are spread over the queues but not processed in parallel. ` +
                `For a poll thread per queue, put bridge ${bridge} on \`datapath ovs\` with ${most} poll-cores.`,
                port, { property: 'queues' });
        }
    },
};
