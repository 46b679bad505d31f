import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv, resolveBootImage } from '../../src/backends/qemu/index.js';
import { VtopoError } from '../../src/core/api.js';
import { loadTopology } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { exportCases, exportPlan, type ExportFormat } from '../../src/plan/export/index.js';
import type { Plan, VmPlan } from '../../src/core/plan.js';
import { expectGolden } from '../golden.js';
import { handFabricPlan } from '../support/fabric-plan.js';

const GUEST = { kernel: '/var/cache/vtopo/guest/vmlinuz', initrd: '/var/cache/vtopo/guest/initrd.img' };
const argv = (vm: VmPlan) => buildQemuArgv(vm, resolveBootImage(vm, { kernel: '$VTOPO_GUEST_KERNEL', initrd: '$VTOPO_GUEST_INITRD' }));
const cmdline = (vm: VmPlan) => { const b = resolveBootImage(vm, GUEST); return b.kind === 'kernel' ? b.append ?? '' : ''; };

async function planOf(file: string): Promise<Plan> {
    const { model } = await loadTopology(file);
    return compilePlan(topologyOf(model, file), {
        runRoot: '/run/vtopo', kvmUsable: false, sourceFile: `/src/${path.basename(file)}`, onlineCpus: [0, 1],
    });
}

const CASES: [string, ExportFormat][] = [
    ['examples/two-vms.vtopo', 'qemu'],
    ['examples/two-vms.vtopo', 'libvirt'],
    ['examples/two-vms.vtopo', 'ovs-vsctl'],
    ['test/plan/fixtures/ovs-hugepages.vtopo', 'ovs-vsctl'],
    ['test/plan/fixtures/ovs-hugepages.vtopo', 'libvirt'],
    ['test/plan/fixtures/ovs-hugepages.vtopo', 'qemu'],
    ['test/plan/fixtures/tap-kernel.vtopo', 'libvirt'],
    ['test/plan/fixtures/ovs-vlans.vtopo', 'ovs-vsctl'],
    ['test/plan/fixtures/ovs-vlans.vtopo', 'libvirt'],
];

describe('exports', () => {
    // The QEMU argv itself is pinned by the qemu backend's own goldens; here the word-exact round trip below.
    for (const [src, format] of CASES.filter(([, f]) => f !== 'qemu')) {
        it(`${src} as ${format} matches its golden file`, async () => {
            const text = exportPlan(await planOf(src), format, { argv, guest: GUEST, cmdline });
            expectGolden(path.join('test/plan/golden/export', `${path.basename(src, '.vtopo')}.${format}.${format === 'libvirt' ? 'xml' : 'sh'}`), text);
        });
    }

    it('shell scripts parse (sh -n) and quote the kernel command line as one word', async () => {
        const dir = mkdtempSync('/tmp/vtexp-');
        try {
            for (const [src, format] of CASES.filter(([, f]) => f !== 'libvirt')) {
                const f = path.join(dir, 'x.sh');
                writeFileSync(f, exportPlan(await planOf(src), format, { argv, guest: GUEST, cmdline }));
                expect(spawnSync('sh', ['-n', f]).status).toBe(0);
            }
            const q = exportPlan(await planOf('examples/two-vms.vtopo'), 'qemu', { argv, guest: GUEST });
            // `set --` + the script's words reproduce the argv exactly (one word per argument).
            const vm = (await planOf('examples/two-vms.vtopo')).vms[0];
            const cmd = q.split('\n# vm a')[1].split('\n').slice(1).join('\n').split(' &\n')[0];
            const script = `VTOPO_GUEST_KERNEL=K VTOPO_GUEST_INITRD=I; set -- ${cmd}; for a in "$@"; do printf '%s\\0' "$a"; done`;
            const words = execFileSync('sh', ['-c', script]).toString().split('\0').slice(0, -1);
            expect(words).toEqual(buildQemuArgv(vm, resolveBootImage(vm, { kernel: 'K', initrd: 'I' })));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it('libvirt domains validate with virt-xml-validate and carry vhostuser, queues, shared memory, a NUMA cell', async () => {
        const hasValidator = spawnSync('sh', ['-c', 'command -v virt-xml-validate']).status === 0;
        const dir = mkdtempSync('/tmp/vtxml-');
        try {
            for (const src of ['examples/two-vms.vtopo', 'test/plan/fixtures/ovs-hugepages.vtopo', 'test/plan/fixtures/tap-kernel.vtopo']) {
                const plan = await planOf(src);
                for (const vm of plan.vms) {
                    const xml = exportPlan(plan, 'libvirt', { argv, vm: vm.name, guest: GUEST, cmdline });
                    expect(xml).toContain(`<interface type='vhostuser'>`);
                    expect(xml).toContain(`<access mode='shared'/>`);
                    expect(xml).toMatch(/<cell id='0' cpus='0-\d+' memory='\d+' unit='KiB' memAccess='shared'\/>/);
                    expect(xml).toContain(`<driver queues='${vm.ports[0].queues}'>`);
                    if (!hasValidator) continue; // setup.sh installs libvirt-clients; CI always validates
                    const f = path.join(dir, `${vm.name}.xml`);
                    writeFileSync(f, xml);
                    const r = spawnSync('virt-xml-validate', [f, 'domain'], { encoding: 'utf8' });
                    expect(r.status, `${src} vm ${vm.name}: ${r.stdout}${r.stderr}`).toBe(0);
                }
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe('exports of a topology across hosts (a hand-built plan.fabric)', () => {
    it('ovn-nbctl and each host\'s ovs-vsctl match their golden files; every script parses (sh -n)', async () => {
        const plan = await handFabricPlan();
        const dir = mkdtempSync('/tmp/vtexp-');
        try {
            expect(exportCases(plan)).toEqual([
                { format: 'ovs-vsctl', host: 'h1' }, { format: 'ovs-vsctl', host: 'h2' }, { format: 'ovs-vsctl', host: 'h3' },
                { format: 'ovn-nbctl' }, { format: 'qemu' }, { format: 'libvirt' },
            ]);
            for (const c of exportCases(plan).filter((x) => x.format !== 'qemu' && x.format !== 'libvirt')) {
                const text = exportPlan(plan, c.format, { argv, host: c.host });
                expectGolden(path.join('test/plan/golden/export', `hand-fabric.${c.host ? `${c.host}.` : ''}${c.format}.sh`), text);
                const f = path.join(dir, 'x.sh');
                writeFileSync(f, text);
                expect(spawnSync('sh', ['-n', f]).status).toBe(0);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it('examples/multi-host.vtopo: ovn-nbctl and each host\'s ovs-vsctl match their golden files (test/ovn/export-run.test.ts gets the same from the CLI)', async () => {
        const plan = await planOf('examples/multi-host.vtopo');
        for (const c of exportCases(plan).filter((x) => x.format === 'ovn-nbctl' || x.format === 'ovs-vsctl')) {
            expectGolden(path.join('test/plan/golden/export', `multi-host.${c.host ? `${c.host}.` : ''}${c.format}.sh`), exportPlan(plan, c.format, { argv, host: c.host }));
        }
    });

    it('--host picks a host\'s VMs for qemu and libvirt', async () => {
        const plan = await handFabricPlan();
        const q = exportPlan(plan, 'qemu', { argv, host: 'h2' });
        expect(q).toContain('# vm a ');
        expect(q).not.toContain('# vm b ');
        expect(exportPlan(plan, 'libvirt', { argv, host: 'h3' }).match(/<domain /g)).toHaveLength(1);
        expect(() => exportPlan(plan, 'libvirt', { argv, host: 'h3', vm: 'a' })).toThrow(/vm a does not run on host h3/);
    });

    it('refuses what does not apply, naming the cause and the fix', async () => {
        const plan = await handFabricPlan();
        const one = await planOf('examples/two-vms.vtopo');
        const refusal = (p: Plan, format: ExportFormat, host?: string) => {
            try {
                exportPlan(p, format, { argv, host });
            } catch (e) {
                expect(e).toBeInstanceOf(VtopoError);
                return { message: (e as VtopoError).message, fix: (e as VtopoError).fix, code: (e as VtopoError).code };
            }
            throw new Error(`${format} ${host ?? ''} was not refused`);
        };
        expect(refusal(one, 'ovn-nbctl')).toMatchObject({ code: 'no-fabric', message: expect.stringMatching(/topology two_vms has no fabric/), fix: expect.stringMatching(/fabric/) });
        expect(refusal(plan, 'ovs-vsctl')).toEqual({
            code: 'host-needed', message: 'topology xh spans hosts h1, h2, h3: its ovs-vsctl export is one host\'s part', fix: 'pick one with --host (h1, h2, h3)',
        });
        expect(refusal(plan, 'ovs-vsctl', 'h9')).toEqual({ code: 'no-such-host', message: 'topology xh has no host h9', fix: 'name one of: h1, h2, h3' });
        expect(refusal(one, 'ovs-vsctl', 'h2')).toMatchObject({ code: 'no-fabric', fix: 'leave out --host' });
        expect(refusal(plan, 'ovn-nbctl', 'h2')).toMatchObject({ code: 'bad-option', fix: 'leave out --host' });
        const external = { ...plan, fabric: { ...plan.fabric!, central: { kind: 'external' as const, nb: 'tcp:192.0.2.10:6641' } } };
        // An existing OVN whose Southbound the file does not name: the script asks for it when run.
        const h2 = exportPlan(external, 'ovs-vsctl', { argv, host: 'h2' });
        expect(h2).toContain(': "${VTOPO_OVN_REMOTE:?set it to the Southbound of the existing OVN, e.g. tcp:ADDRESS:6642}"');
        expect(h2).toContain(' "external_ids:ovn-remote=$VTOPO_OVN_REMOTE" ');
        expect(exportPlan(external, 'ovn-nbctl', { argv })).toContain('the existing OVN at tcp:192.0.2.10:6641');
    });
});
