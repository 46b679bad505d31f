import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv, resolveBootImage } from '../../src/backends/qemu/index.js';
import type { VmPlan } from '../../src/core/plan.js';
import { expectGolden } from '../golden.js';
import { makeVm } from './fixtures.js';

const GUEST = { kernel: '/cache/guest/h/vmlinuz', initrd: '/cache/guest/h/initrd.img' };
const GOLDEN = path.join(__dirname, 'golden');
// Where compilePlan mounts hugetlbfs for topology `lab` (host { hugepages … }).
const HUGE = { kind: 'file', dir: '/run/vtopo/lab/hugepages', pageSizeBytes: 2 ** 21 } as const;

const cases: Record<string, VmPlan> = {
    'default-tcg-1q-client-memfd': makeVm({}, [{}]),
    'default-tcg-2q-server-memfd-2cpu': makeVm({ cpus: 2 }, [{ queues: 2, vhostMode: 'server' }]),
    'default-kvm-2q-client-hugepages': makeVm(
        { accel: 'kvm', accelRequested: 'kvm', cpus: 2, memoryBackend: { kind: 'file', dir: '/dev/hugepages/vtopo-lab', pageSizeBytes: 2 ** 21 } },
        [{ queues: 2 }],
    ),
    'default-kvm-4q-hugepages-1g': makeVm(
        { accel: 'kvm', cpus: 4, memoryBytes: 2 ** 30, memoryBackend: { kind: 'file', dir: '/dev/hugepages1G', pageSizeBytes: 2 ** 30 } },
        [{ queues: 4, mrgRxbuf: false, mtu: 9000, ip: undefined }],
    ),
    'default-tcg-2ports-mixed-modes': makeVm({ cpus: 2, pin: [0, 1] }, [{ queues: 2 }, { name: 'mgmt', vhostMode: 'server' }]),
    'default-tcg-noports': makeVm({ name: 'lonely' }),
    'kernel-user-initrd-append-kvm': makeVm(
        { accel: 'kvm', image: { kind: 'kernel', kernel: '/imgs/bzImage', initrd: '/imgs/rootfs.cpio.gz', append: 'console=ttyS0 root=/dev/ram0' } },
        [{}],
    ),
    // Hosts without KVM still get hugepage-backed shared RAM; only the vectors change (0 under TCG).
    'default-tcg-2q-hugepages': makeVm({ cpus: 2, memoryBackend: HUGE }, [{ queues: 2 }]),
    'default-tcg-4q-server-hugepages': makeVm({ cpus: 2, memoryBackend: HUGE }, [{ queues: 4, vhostMode: 'server' }]),
    'kernel-user-initrd-tcg-hugepages': makeVm(
        { memoryBackend: HUGE, image: { kind: 'kernel', kernel: '/imgs/bzImage', initrd: '/imgs/rootfs.cpio.gz', append: 'console=ttyS0' } },
        [{ queues: 2 }],
    ),
    'kernel-user-noinitrd-tcg': makeVm({ image: { kind: 'kernel', kernel: '/imgs/bzImage' } }, [{}]),
    'disk-qcow2-tcg': makeVm({ image: { kind: 'disk', path: '/imgs/web.qcow2' } }, [{}]),
    'disk-raw-kvm-hugepages-server': makeVm(
        { accel: 'kvm', image: { kind: 'disk', path: '/imgs/db.img' }, memoryBackend: { kind: 'file', dir: '/dev/hugepages', pageSizeBytes: 2 ** 21 } },
        [{ queues: 2, vhostMode: 'server' }],
    ),
};

function render(vm: VmPlan): string {
    const boot = resolveBootImage(vm, GUEST);
    // One argv word per line: diffs show exactly which word changed.
    return buildQemuArgv(vm, boot).join('\n') + '\n';
}

describe('buildQemuArgv golden files', () => {
    for (const [name, vm] of Object.entries(cases)) {
        it(name, () => {
            expectGolden(path.join(GOLDEN, `${name}.argv`), render(vm));
        });
    }
});

describe('buildQemuArgv invariants', () => {
    const words = (vm: VmPlan) => buildQemuArgv(vm, resolveBootImage(vm, GUEST));
    const after = (argv: string[], flag: string) => argv.flatMap((w, i) => (argv[i - 1] === flag ? [w] : []));

    it('shares guest RAM with the switch, attached through the NUMA node', () => {
        for (const vm of Object.values(cases)) {
            const argv = words(vm);
            const obj = after(argv, '-object');
            expect(obj).toHaveLength(1);
            expect(obj[0]).toMatch(/^memory-backend-(memfd|file),id=mem0,.*share=on/);
            expect(after(argv, '-numa')).toEqual(['node,memdev=mem0']);
            if (vm.memoryBackend.kind === 'file') expect(obj[0]).toContain(`mem-path=${vm.memoryBackend.dir}`);
        }
    });

    it('one chardev/netdev/device triple per port with the declared mode, queues and vectors', () => {
        for (const vm of Object.values(cases)) {
            const argv = words(vm);
            const nets = after(argv, '-netdev');
            expect(nets).toHaveLength(vm.ports.length);
            vm.ports.forEach((p, i) => {
                const chr = after(argv, '-chardev').find((c) => c.includes(`path=${p.socketPath}`))!;
                expect(chr).toBeDefined();
                if (p.vhostMode === 'client') expect(chr).toMatch(/,server=on$/);
                else expect(chr).toMatch(/,reconnect=1$/);
                expect(nets[i]).toContain(`queues=${p.queues}`);
                const dev = after(argv, '-device').find((d) => d.includes(`netdev=net${i}`))!;
                expect(dev).toContain(`vectors=${p.vectors}`);
                expect(dev).toContain(`mac=${p.mac}`);
                expect(dev).toContain(`host_mtu=${p.mtu}`);
                expect(dev.includes('mq=on')).toBe(p.queues > 1);
            });
        }
    });

    it('accel follows the plan: TCG multi-threaded, KVM with the host CPU', () => {
        expect(after(words(cases['default-tcg-1q-client-memfd']), '-accel')).toEqual(['tcg,thread=multi']);
        const kvm = words(cases['default-kvm-2q-client-hugepages']);
        expect(after(kvm, '-accel')).toEqual(['kvm']);
        expect(after(kvm, '-cpu')).toEqual(['host']);
    });

    it('TCG with hugepages: file-backed shared RAM on hugetlbfs, vectors=0, multiqueue kept', () => {
        for (const k of ['default-tcg-2q-hugepages', 'default-tcg-4q-server-hugepages', 'kernel-user-initrd-tcg-hugepages']) {
            const argv = words(cases[k]);
            expect(after(argv, '-accel')).toEqual(['tcg,thread=multi']);
            expect(after(argv, '-object')).toEqual([`memory-backend-file,id=mem0,size=256M,mem-path=${HUGE.dir},share=on`]);
            const dev = after(argv, '-device').find((d) => d.startsWith('virtio-net-pci'))!;
            expect(dev).toMatch(/,mq=on,vectors=0,/);
            expect(after(argv, '-netdev')[0]).toMatch(new RegExp(`,queues=${cases[k].ports[0].queues}$`));
        }
    });

    it('the agent channel exists only for the default image, and the port list reaches the guest', () => {
        const def = words(cases['default-tcg-2ports-mixed-modes']);
        expect(def.some((w) => w.includes('name=vtopo.agent'))).toBe(true);
        const append = after(def, '-append')[0];
        expect(append).toContain('vtopo.port=eth0,52:54:00:00:00:01,10.0.0.1/24,1500,2');
        expect(append).toContain('vtopo.port=mgmt,52:54:00:00:00:02,10.0.1.1/24,1500,1');
        expect(append).toContain('vtopo.cpus=2');
        for (const k of ['disk-qcow2-tcg', 'kernel-user-noinitrd-tcg']) {
            expect(words(cases[k]).some((w) => w.includes('vtopo.agent'))).toBe(false);
        }
        expect(resolveBootImage(cases['disk-qcow2-tcg']).agent).toBe(false);
    });

    it('uses the binary it is given and never a shell', () => {
        const argv = buildQemuArgv(cases['disk-qcow2-tcg'], resolveBootImage(cases['disk-qcow2-tcg']), { qemuBinary: '/opt/qemu/bin/qemu-system-x86_64' });
        expect(argv[0]).toBe('/opt/qemu/bin/qemu-system-x86_64');
        expect(argv).not.toContain('sh');
        expect(argv).not.toContain('-c');
    });

    it('commas in paths are doubled, as QEMU option syntax needs', () => {
        const vm = makeVm({ dir: '/run/a,b', image: { kind: 'disk', path: '/imgs/x,y.qcow2' } }, [{}]);
        const argv = buildQemuArgv(vm, resolveBootImage(vm));
        expect(after(argv, '-drive')[0]).toBe('file=/imgs/x,,y.qcow2,if=virtio,format=qcow2');
        expect(after(argv, '-qmp')[0]).toBe('unix:/run/a,,b/vm-web.qmp,server=on,wait=off');
        const chardevs = after(argv, '-chardev');
        expect(chardevs.length).toBeGreaterThan(0);
        for (const c of chardevs) expect(c).toContain('/run/a,,b/');
    });

    it('the default image cannot be resolved before it is built', () => {
        expect(() => resolveBootImage(cases['default-tcg-noports'])).toThrow(/ensureGuestImage/);
    });
});
