/**
 * Many hosts on OVN (issue 20), figures only:
 *  - RTT and iperf3 TCP throughput between guests on one host against
 *    guests on two hosts (one logical switch, the second pair across a
 *    Geneve tunnel between two OvS-DPDKs);
 *  - deploy (+ verify) and destroy time of examples/multi-host.vtopo (three
 *    hosts, a router) against examples/two-vms.vtopo (one host, embedded).
 * Not a test. Run as root, alone (it boots TCG guests on two cores):
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/multi-host/run.ts [rounds]
 * Figures and history: bench/RESULTS.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../../src/core/plan.js';
import { ensureGuestImage } from '../../src/backends/qemu/index.js';
import { agentIperf3, agentPingStats } from '../../src/backends/qemu/agent.js';
import { onInterrupt } from '../interrupt.js';
import { median, secs, timed } from '../timing.js';

const rounds = Number(process.argv[2] ?? 2);
const root = mkdtempSync('/tmp/vtbm-');
process.env.VTOPO_RUN_ROOT = path.join(root, 'run');
const { runtime } = await import('../../src/runtime/index.js');


// a1 and a2 share h1; b is on h2. One switch, so the only difference between the pairs is the tunnel.
const pairs = path.join(root, 'pairs.vtopo');
writeFileSync(pairs, `topology mhbench {
  host h1 { cores 0-1  memory 4G  underlay 172.31.61.1/24 }
  host h2 { netns  underlay 172.31.61.2/24 }
  fabric { engine ovn  encap geneve  central h1  underlay-mtu 1600 }
  bridge web { datapath ovs  mtu 1400 }
  vm a1 { host h1  cpus 1  memory 256M  port eth0 { bridge web  ip 10.0.1.1/24 } }
  vm a2 { host h1  cpus 1  memory 256M  port eth0 { bridge web  ip 10.0.1.2/24 } }
  vm b  { host h2  cpus 1  memory 256M  port eth0 { bridge web  ip 10.0.1.3/24 } }
}
`);
const campus = path.resolve('examples/multi-host.vtopo');
const two = path.resolve('examples/two-vms.vtopo');

const cleanup = async () => {
    for (const f of [pairs, campus, two]) await runtime.destroy(f).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
};
const registered = onInterrupt(cleanup);

function deployedPlan(topology: string): Plan {
    return (JSON.parse(readFileSync(path.join(root, 'run', topology, 'state', 'state.json'), 'utf8')) as { deployed: Plan }).deployed;
}

try {
    await ensureGuestImage();

    // 1. Same host against across hosts.
    await runtime.deploy(pairs);
    const v = await runtime.verify(pairs);
    if (!v.pairs.every((p) => p.ok)) throw new Error(`verify failed: ${JSON.stringify(v.pairs)}`);
    const plan = deployedPlan('mhbench');
    const vm = (n: string) => plan.vms.find((x) => x.name === n)!;
    const rtt: Record<string, number[]> = { same: [], cross: [] };
    const tput: Record<string, number[]> = { same: [], cross: [] };
    for (let i = 0; i < rounds; i++) {
        for (const [kind, peer] of [['same', '10.0.1.2'], ['cross', '10.0.1.3']] as const) {
            const p = await agentPingStats(vm('a1'), peer, { count: 50, intervalS: 0.1, deadlineS: 20 });
            if (!p.ok || p.median_ms == null) throw new Error(`ping a1 → ${peer}: ${p.error ?? 'no replies'}`);
            rtt[kind].push(p.median_ms);
            const t = await agentIperf3(vm('a1'), peer, { seconds: 8 });
            if (!t.ok || t.mbps === undefined) throw new Error(`iperf3 a1 → ${peer}: ${t.error}`);
            tput[kind].push(t.mbps);
            console.log(`round ${i + 1} ${kind === 'same' ? 'same host  ' : 'across hosts'}: RTT median ${p.median_ms.toFixed(3)} ms (${p.received}/${p.sent}), iperf3 TCP ${t.mbps.toFixed(0)} Mbit/s`);
        }
    }
    console.log(`medians of ${rounds}: same host RTT ${median(rtt.same).toFixed(3)} ms, ${median(tput.same).toFixed(0)} Mbit/s; ` +
        `across hosts (Geneve) RTT ${median(rtt.cross).toFixed(3)} ms, ${median(tput.cross).toFixed(0)} Mbit/s`);
    await runtime.destroy(pairs);

    // 2. Deploy time: three hosts and a router against one host's two VMs.
    const r: Record<string, { deploy: number[]; verify: number[]; destroy: number[] }> = {};
    for (let i = 0; i < rounds; i++) {
        for (const [name, file] of [['two-vms', two], ['multi-host', campus]] as const) {
            const [td] = await timed(() => runtime.deploy(file));
            const [tv, res] = await timed(() => runtime.verify(file));
            if (!res.pairs.every((p) => p.ok)) console.warn(`${name}: verify failed once (OVN resolves ARP for the first routed echo): ${JSON.stringify(res.pairs.filter((p) => !p.ok))}`);
            const [tx] = await timed(() => runtime.destroy(file));
            (r[name] ??= { deploy: [], verify: [], destroy: [] }).deploy.push(td);
            r[name].verify.push(tv);
            r[name].destroy.push(tx);
            console.log(`round ${i + 1} ${name}: deploy ${secs(td)} s, verify ${secs(tv)} s, destroy ${secs(tx)} s`);
        }
    }
    for (const [name, x] of Object.entries(r)) {
        console.log(`medians of ${rounds} ${name}: deploy ${secs(median(x.deploy))} s, verify ${secs(median(x.verify))} s, destroy ${secs(median(x.destroy))} s`);
    }
} finally {
    registered();
    await cleanup();
}
