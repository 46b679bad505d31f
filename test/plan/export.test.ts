import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv, resolveBootImage } from '../../src/backends/qemu/index.js';
import { loadTopology } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { exportPlan, type ExportFormat } from '../../src/plan/export/index.js';
import type { Plan, VmPlan } from '../../src/core/plan.js';
import { expectGolden } from '../golden.js';

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
