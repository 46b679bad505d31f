/**
 * What every plan must satisfy, over every edit of the kept files that
 * still compiles (test/mutations.ts), on a host with KVM and one without:
 * the QEMU 7.2 TCG MSI-X rule per accelerator, sockets unique and short
 * enough for sun_path, MACs and ids unique, one serving core per queue
 * among the cores the datapath polls on, guest RAM on hugepages exactly
 * when the host declares them, and a plan that is plain data and the same
 * each time it is compiled.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { breathe } from '../support/wait.js';
import { pmdCores } from '../../src/backends/ovs/index.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, socketsOf, topologyOf } from '../../src/plan/compile.js';
import { MAX_SOCKET_PATH } from '../../src/plan/paths.js';
import type { HostFacts, Plan } from '../../src/core/plan.js';
import { edits, KEPT_FILES, variants } from '../mutations.js';

function violations(plan: Plan, facts: HostFacts): string[] {
    const out: string[] = [];
    const socks = socketsOf(plan);
    for (const s of socks) {
        if (Buffer.byteLength(s.path) > MAX_SOCKET_PATH) out.push(`${s.what} socket ${s.path} is over ${MAX_SOCKET_PATH} bytes`);
        if (!s.path.startsWith(`${plan.runDir}/`) && !(s.what === 'the OvS database' && plan.datapaths.ovs?.mode === 'existing')) out.push(`${s.what} socket outside the run dir`);
    }
    const dupes = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
    for (const p of dupes(socks.map((s) => s.path))) out.push(`socket ${p} used twice`);
    const ports = plan.vms.flatMap((v) => v.ports);
    for (const m of dupes(ports.map((p) => p.mac.toLowerCase()))) out.push(`MAC ${m} used twice`);
    for (const id of dupes(ports.map((p) => p.id))) out.push(`port id ${id} used twice`);
    for (const v of plan.vms) {
        // (An explicit `accel kvm` stays kvm: the plan notes it and deploy refuses it, naming the fix.)
        if (!facts.kvmUsable && v.accel !== 'tcg' && v.accelRequested !== 'kvm') out.push(`vm ${v.name} gets ${v.accel} on a host without KVM`);
        if (!facts.kvmUsable && v.accelRequested === 'kvm' && !plan.notes.some((n) => n.includes(`vm ${v.name} asks for accel kvm`))) out.push(`vm ${v.name} asks for kvm on a host without it, unnoted`);
        if (v.memoryBackend.kind === 'file' !== !!plan.host.hugepages) out.push(`vm ${v.name} memory backend ${v.memoryBackend.kind} with hugepages ${plan.host.hugepages ? 'declared' : 'absent'}`);
        for (const p of v.ports) {
            const want = v.accel === 'kvm' ? 2 * p.queues + 2 : 0;
            if (p.vectors !== want) out.push(`port ${p.id} vectors ${p.vectors} under ${v.accel} (want ${want})`);
            if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(p.mac) || parseInt(p.mac.slice(0, 2), 16) & 1) out.push(`port ${p.id} MAC ${p.mac} is not unicast`);
            if (p.queueCores.length !== p.queues) out.push(`port ${p.id} has ${p.queues} queues but ${p.queueCores.length} serving cores`);
            const polling = p.datapath === 'ovs' && plan.datapaths.ovs?.mode === 'private' ? [...pmdCores(plan)] : p.datapath === 'embedded' ? plan.datapaths.embedded?.pollCores ?? [] : undefined;
            if (polling?.length && p.queueCores.some((c) => !polling.includes(c))) out.push(`port ${p.id} queue cores ${p.queueCores} outside the poll cores ${polling}`);
        }
    }
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(plan)), plan)) out.push('the plan is not plain JSON data');
    return out;
}

const HOSTS: [string, HostFacts][] = [
    ['no KVM', { runRoot: '/run/vtopo', kvmUsable: false, kvmReason: 'no vmx/svm', sourceFile: '/src/m.vtopo', onlineCpus: [0, 1] }],
    ['KVM', { runRoot: '/run/vtopo', kvmUsable: true, sourceFile: '/src/m.vtopo', onlineCpus: [0, 1, 2, 3, 4, 5, 6, 7] }],
];

describe('plan invariants', () => {
    for (const file of KEPT_FILES.filter((f) => !f.includes('/invalid/'))) {
        it(`hold for every compiling edit of ${file}`, async () => {
            const text = readFileSync(file, 'utf8');
            const failures: string[] = [];
            let plans = 0;
            for (const [what, variant] of [['as it is', text] as [string, string], ...edits(text), ...variants(text)]) {
                await breathe();
                const r = await checkText(variant, 'm.vtopo');
                if (r.hasErrors || !r.model || r.model.topologies?.length !== 1) continue;
                for (const [host, facts] of HOSTS) {
                    const plan = compilePlan(topologyOf(r.model, facts.sourceFile), facts);
                    plans++;
                    for (const v of violations(plan, facts)) failures.push(`${what}, ${host}: ${v}`);
                    if (!isDeepStrictEqual(compilePlan(topologyOf(r.model, facts.sourceFile), facts), plan)) failures.push(`${what}, ${host}: compiled twice, two plans`);
                }
            }
            expect(failures.slice(0, 10)).toEqual([]);
            if (!(await checkText(text, 'm.vtopo')).hasErrors) expect(plans).toBeGreaterThan(20);
        }, 120_000);
    }
});
