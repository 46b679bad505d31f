import type { VmPlan, VmPortPlan } from '../../src/core/plan.js';

/** A VmPlan as compilePlan would produce it, with run-dir paths under `dir`. */
export function makeVm(over: Partial<VmPlan> & { name?: string; dir?: string } = {}, ports: Partial<VmPortPlan>[] = []): VmPlan {
    const name = over.name ?? 'web';
    const dir = over.dir ?? '/run/vtopo/lab';
    const accel = over.accel ?? 'tcg';
    const vm: VmPlan = {
        name,
        cpus: 1,
        memoryBytes: 256 * 2 ** 20,
        accelRequested: 'auto',
        accel,
        image: { kind: 'default' },
        memoryBackend: { kind: 'memfd' },
        qmpSocket: `${dir}/vm-${name}.qmp`,
        agentSocket: `${dir}/vm-${name}.agent`,
        consoleSocket: `${dir}/vm-${name}.console`,
        serialLog: `${dir}/vm-${name}.serial.log`,
        qemuLog: `${dir}/vm-${name}.qemu.log`,
        pidFile: `${dir}/vm-${name}.pid`,
        ports: [],
        ...over,
    };
    delete (vm as { dir?: string }).dir;
    vm.ports = ports.map((p, i) => {
        const queues = p.queues ?? 1;
        const pname = p.name ?? `eth${i}`;
        return {
            id: `${name}.${pname}`,
            vm: name,
            name: pname,
            bridge: 'br0',
            datapath: 'embedded',
            mac: `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
            ip: `10.0.${i}.1/24`,
            mtu: 1500,
            queues,
            vhostMode: 'client',
            socketPath: `${dir}/${name}.${pname}.sock`,
            mrgRxbuf: true,
            vectors: accel === 'kvm' ? 2 * queues + 2 : 0,
            queueCores: Array.from({ length: queues }, () => 1),
            ...p,
        } satisfies VmPortPlan;
    });
    return vm;
}
