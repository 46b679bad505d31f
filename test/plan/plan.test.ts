import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { deriveMac, deriveTapName } from '../../src/plan/derive.js';
import type { HostFacts, Plan } from '../../src/core/plan.js';
import { VtopoError } from '../../src/core/api.js';
import { checkText } from '../../src/language/load.js';
import { expectGolden } from '../golden.js';

const sources = [
    ...readdirSync('examples').filter((f) => f.endsWith('.vtopo')).map((f) => path.join('examples', f)),
    ...readdirSync('test/fixtures').filter((f) => f.endsWith('.vtopo')).map((f) => path.join('test/fixtures', f)),
    ...readdirSync('test/plan/fixtures').filter((f) => f.endsWith('.vtopo')).map((f) => path.join('test/plan/fixtures', f)),
];

export function factsFor(file: string, over: Partial<HostFacts> = {}): HostFacts {
    // Fixed, checkout-independent facts so golden files are the same on every machine.
    return { runRoot: '/run/vtopo', kvmUsable: false, kvmReason: 'no vmx/svm in /proc/cpuinfo', sourceFile: `/src/${path.basename(file)}`, onlineCpus: [0, 1], ...over };
}

async function planOf(file: string, over: Partial<HostFacts> = {}): Promise<Plan> {
    const { model, hasErrors, diagnostics } = await loadTopology(file);
    expect(hasErrors, JSON.stringify(diagnostics.filter((d) => d.severity === 'error'))).toBe(false);
    return compilePlan(topologyOf(model, file), factsFor(file, over));
}

describe('compilePlan golden files', () => {
    for (const file of sources) {
        it(`${file} compiles to its golden plan`, async () => {
            const pinned = file.startsWith('test/plan/') || file.startsWith('examples/') || file === 'test/fixtures/design-example.vtopo';
            // Others' fixtures may be deliberately wrong (they test diagnostics): only sound ones have a plan.
            // (and a plan is of one topology: a fixture holding several is for the editor's tests).
            const loaded = await loadTopology(file);
            if (!pinned && (loaded.hasErrors || loaded.model.topologies.length > 1)) return;
            const plan = await planOf(file);
            const golden = path.join('test/plan/golden', path.basename(file, '.vtopo') + '.json');
            const text = JSON.stringify(plan, null, 2) + '\n';
            if (pinned || existsSync(golden)) expectGolden(golden, text);
            // Other suites' fixtures change with those suites: no golden to keep in step, only a sane plan.
            else expect(plan.vms.every((v) => v.ports.every((p) => p.socketPath.startsWith(plan.runDir)))).toBe(true);
        });
    }
});

describe('compilePlan rules', () => {
    it('is deterministic and keeps every socket path under 108 bytes', async () => {
        const a = await planOf('examples/two-vms.vtopo');
        const b = await planOf('examples/two-vms.vtopo');
        expect(a).toEqual(b);
        expect(a.runDir).toBe('/run/vtopo/two_vms');
        for (const p of a.vms.flatMap((v) => v.ports)) expect(Buffer.byteLength(p.socketPath)).toBeLessThan(108);
    });

    it('derives locally administered unicast MACs that differ per port', () => {
        const m1 = deriveMac('t', 'a', 'eth0');
        const m2 = deriveMac('t', 'b', 'eth0');
        expect(m1).not.toBe(m2);
        const first = Number.parseInt(m1.split(':')[0], 16);
        expect(first & 0x02).toBe(0x02);
        expect(first & 0x01).toBe(0);
        expect(m1).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    });

    it('derives tap names of at most 15 characters, distinct per topology', () => {
        const long = deriveTapName('lab', 'a_very_long_nic_name_indeed');
        expect(long.length).toBeLessThanOrEqual(15);
        expect(deriveTapName('lab', 'up')).not.toBe(deriveTapName('lab2', 'up'));
    });

    it('uses vectors 2N+2 under KVM and 0 under TCG with a note', async () => {
        const kvm = await planOf('test/fixtures/design-example.vtopo', { kvmUsable: true });
        const web = kvm.vms.find((v) => v.name === 'web')!;
        expect(web.accel).toBe('kvm');
        expect(web.ports[0].vectors).toBe(2 * web.ports[0].queues + 2);
        const tcg = await planOf('test/fixtures/design-example.vtopo');
        expect(tcg.vms.every((v) => v.accel === 'tcg' && v.ports.every((p) => p.vectors === 0))).toBe(true);
        expect(tcg.notes.join('\n')).toMatch(/vectors=0/);
    });

    describe('a forced accel overrides the host facts', () => {
        const text = (accel: string) => `topology f { bridge br0  vm v { accel ${accel}  port eth0 { bridge br0  queues 2 } } }`;
        async function planText(accel: string, over: Partial<HostFacts>): Promise<Plan> {
            const r = await checkText(text(accel), 'f.vtopo');
            expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
            return compilePlan(topologyOf(r.model!, 'f.vtopo'), factsFor('f.vtopo', over));
        }

        it('accel tcg stays tcg (vectors=0) when KVM is usable', async () => {
            const p = await planText('tcg', { kvmUsable: true, kvmReason: undefined });
            expect(p.vms[0]).toMatchObject({ accelRequested: 'tcg', accel: 'tcg' });
            expect(p.vms[0].ports[0].vectors).toBe(0);
        });

        it('accel kvm is planned as kvm, and without KVM the plan warns that deploy will refuse', async () => {
            const ok = await planText('kvm', { kvmUsable: true, kvmReason: undefined });
            expect(ok.vms[0]).toMatchObject({ accelRequested: 'kvm', accel: 'kvm' });
            expect(ok.vms[0].ports[0].vectors).toBe(6);
            expect(ok.notes.join('\n')).not.toMatch(/refuse/);
            // The plan stays what the file says; refusing is preflight's job (test/runtime/preflight.test.ts).
            const no = await planText('kvm', {});
            expect(no.vms[0]).toMatchObject({ accelRequested: 'kvm', accel: 'kvm' });
            expect(no.notes.join('\n')).toMatch(/vm v asks for accel kvm, which deploy will refuse: KVM is not usable here: no vmx\/svm/);
        });
    });

    it('backs guest memory with files on the hugetlbfs mount only when hugepages are declared', async () => {
        const hp = await planOf('test/plan/fixtures/ovs-hugepages.vtopo');
        expect(hp.host.hugepages).toEqual({ pageSizeBytes: 2 ** 21, count: 384, mountDir: '/run/vtopo/ovslab/hugepages' });
        expect(hp.vms.every((v) => v.memoryBackend.kind === 'file')).toBe(true);
        expect(hp.datapaths.ovs?.hugepageDir).toBe('/run/vtopo/ovslab/hugepages');
        const plain = await planOf('examples/two-vms.vtopo');
        expect(plain.vms.every((v) => v.memoryBackend.kind === 'memfd')).toBe(true);
    });

    it('spreads queues over the poll cores', async () => {
        const p = await planOf('test/plan/fixtures/tap-kernel.vtopo');
        expect([...p.vms[0].ports[0].queueCores].sort()).toEqual([0, 1]);
    });

    it('refuses a run root that makes socket paths too long, naming the fix', async () => {
        const root = '/tmp/' + 'x'.repeat(90);
        await expect(planOf('examples/two-vms.vtopo', { runRoot: root })).rejects.toThrow(VtopoError);
        await expect(planOf('examples/two-vms.vtopo', { runRoot: root })).rejects.toMatchObject({ fix: expect.stringMatching(/VTOPO_RUN_ROOT/) });
    });

    it('refuses a file with two topologies', async () => {
        const r = await checkText('topology a { bridge b } topology c { bridge d }');
        expect(() => topologyOf(r.model!, 'x.vtopo')).toThrow(/one topology per file/);
    });
});
