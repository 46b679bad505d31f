/** In-memory stand-ins for the datapath backends and the QEMU layer, recording every call. */
import type { DatapathBackend, DatapathEvent, DatapathInventory } from '../../src/backends/types.js';
import type { DatapathKind, HostFacts, NicPlan, Plan, VmPlan, VmPortPlan } from '../../src/core/plan.js';
import type { RuntimeDeps, VmLayer } from '../../src/runtime/deps.js';
import type { HugepageReservation } from '../../src/host/state.js';
import type { VmState } from '../../src/core/status.js';

export interface FakeWorld {
    calls: string[];
    datapaths: Map<DatapathKind, DatapathInventory>;
    vms: Map<string, VmState>;
    /** The settings each guest was last started with. */
    started: Map<string, VmPlan>;
    /** The settings each port and NIC was last added with. */
    added: Map<string, VmPortPlan | NicPlan>;
    reserved: number;
    failBoot?: string;
    /** The call (1-based, counted from now) that throws before it does anything: a backend failing mid-deploy. */
    failAt?: number;
    /** Called as the injected failure strikes, before anything handles it (to take the world as a crash would leave it). */
    onFail?: () => void;
    /** Pushes a datapath event to every subscriber (the backends' subscribe). */
    emit(e: DatapathEvent): void;
    subscribers: number;
    deps: RuntimeDeps;
}

export function fakeWorld(runRoot: string): FakeWorld {
    const listeners = new Set<(e: DatapathEvent) => void>();
    const calls: string[] = [];
    // Every fake records its call first: recording is where an injected failure strikes.
    const record = calls.push.bind(calls);
    // (Not enumerable: the calls still compare equal to a plain array.)
    Object.defineProperty(calls, 'push', {
        enumerable: false,
        value: (...items: string[]) => {
            if (w.failAt !== undefined && --w.failAt === 0) {
                w.failAt = undefined;
                w.onFail?.();
                throw new Error(`injected failure: ${items.join(', ')}`);
            }
            return record(...items);
        },
    });
    const w: FakeWorld = {
        calls, datapaths: new Map(), vms: new Map(), started: new Map(), added: new Map(), reserved: 0, deps: undefined as unknown as RuntimeDeps,
        emit: (e) => { for (const l of listeners) l(e); },
        get subscribers() { return listeners.size; },
    };
    const inv = (k: DatapathKind) => {
        const i = w.datapaths.get(k);
        if (!i) throw new Error(`${k} datapath not running`);
        return i;
    };
    const backend = (kind: DatapathKind): DatapathBackend => ({
        kind,
        running: async () => w.datapaths.has(kind),
        start: async () => { w.calls.push(`start-datapath ${kind}`); if (!w.datapaths.has(kind)) w.datapaths.set(kind, { bridges: [], links: [], vmPorts: [], nics: [] }); },
        stop: async () => { w.calls.push(`stop-datapath ${kind}`); w.datapaths.delete(kind); },
        inventory: async () => structuredClone(inv(kind)),
        addBridge: async (_p, b) => { w.calls.push(`add-bridge ${b.name}`); inv(kind).bridges.push(b.name); },
        removeBridge: async (_p, n) => { w.calls.push(`remove-bridge ${n}`); inv(kind).bridges = inv(kind).bridges.filter((x) => x !== n); },
        addLink: async (_p, l) => { w.calls.push(`add-link ${l.id}`); inv(kind).links.push(l.id); },
        removeLink: async (_p, id) => { w.calls.push(`remove-link ${id}`); inv(kind).links = inv(kind).links.filter((x) => x !== id); },
        addVmPort: async (_p, port) => { w.calls.push(`add-port ${port.id}`); inv(kind).vmPorts.push(port.id); w.added.set(port.id, port); },
        removeVmPort: async (_p, id) => { w.calls.push(`remove-port ${id}`); inv(kind).vmPorts = inv(kind).vmPorts.filter((x) => x !== id); },
        addNic: async (_p, n) => { w.calls.push(`add-nic ${n.name}`); inv(kind).nics.push(n.name); w.added.set(n.name, n); },
        setImpair: async (_p, t, i) => { w.calls.push(`set-impair ${'port' in t ? t.port : t.link} ${JSON.stringify(i)}`); },
        removeNic: async (_p, n) => { w.calls.push(`remove-nic ${n}`); inv(kind).nics = inv(kind).nics.filter((x) => x !== n); },
        subscribe: async (_p, onEvent) => {
            listeners.add(onEvent);
            return { close: () => listeners.delete(onEvent) };
        },
        snapshot: async (plan: Plan) => ({
            datapath: { kind, running: true, mode: 'interrupt' },
            ports: plan.vms.flatMap((v) => v.ports).filter((p) => inv(kind).vmPorts.includes(p.id)).map((p) => ({
                id: p.id, vm: p.vm, port: p.name, bridge: p.bridge, datapath: kind, link: w.vms.get(p.vm) === 'running' ? 'up' as const : 'down' as const,
                rx_packets: 1, tx_packets: 1, rx_bytes: 60, tx_bytes: 60, drops: 0, queues: [],
            })),
        }),
    });
    const vms: VmLayer = {
        prepareImages: async () => { w.calls.push('prepare-images'); },
        start: async (vm: VmPlan) => { w.calls.push(`start-vm ${vm.name}`); w.vms.set(vm.name, 'booting'); w.started.set(vm.name, vm); },
        waitReady: async (vm: VmPlan) => {
            if (w.failBoot === vm.name) { w.vms.set(vm.name, 'crashed'); throw new Error('QEMU exited with status 1'); }
            w.vms.set(vm.name, 'running');
        },
        stop: async (vm: VmPlan) => { w.calls.push(`stop-vm ${vm.name}`); w.vms.delete(vm.name); },
        status: async (vm: VmPlan) => ({ name: vm.name, state: w.vms.get(vm.name) ?? 'absent', accel: vm.accel }),
        ping: async (vm: VmPlan, address: string) => ({ ok: w.vms.get(vm.name) === 'running', rtt_ms: 0.5, ...(address ? {} : {}) }),
        argv: (vm: VmPlan) => ['qemu-system-x86_64', '-name', vm.name],
        qemuBinary: () => 'sh',
        exec: async (vm: VmPlan) => { w.calls.push(`exec ${vm.name}`); return 0; },
        setLink: async (vm: VmPlan, nic: string, up: boolean) => { w.calls.push(`set-link ${vm.name}.${nic} ${up ? 'up' : 'down'}`); },
        takeConsole: () => ({ release() { /* nothing held */ } }),
    };
    const facts = (sourceFile: string): HostFacts => ({ runRoot, kvmUsable: false, sourceFile, onlineCpus: [0, 1] });
    w.deps = {
        backend: async (k) => backend(k),
        vms,
        hostFacts: facts,
        hugepages: {
            reserve: (hp, onRecord) => { w.calls.push(`reserve-hugepages ${hp.count}`); const r: HugepageReservation = { sizeKb: 2048, added: hp.count, mountDir: hp.mountDir, mounted: true }; w.reserved += hp.count; onRecord(r); return r; },
            release: (r) => { w.calls.push('release-hugepages'); w.reserved -= r.added; r.added = 0; },
            resize: (r, hp, onRecord) => { w.calls.push(`resize-hugepages ${r.added}→${hp.count}`); w.reserved += hp.count - r.added; const n = { ...r, added: hp.count }; onRecord(n); return n; },
        },
        readyTimeoutMs: 1000,
    };
    return w;
}
