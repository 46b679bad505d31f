/**
 * What the runtime needs from the outside world, as one seam: the real
 * backends in production, fakes in unit tests (test/runtime).
 */
import type { DatapathBackend } from '../backends/types.js';
import type { DatapathKind, HostFacts, HostPlan, VmPlan } from '../core/plan.js';
import type { ExecIo, ProgressEvent } from '../core/api.js';
import type { HugepageReservation, Lock } from '../host/state.js';
import type { VmStatus } from '../core/status.js';

export interface PingResult { ok: boolean; rtt_ms?: number; error?: string }
export interface PingStats { ok: boolean; sent?: number; received?: number; median_ms?: number | null; min_ms?: number | null; error?: string }

/** Guests: implemented over src/backends/qemu in vm-layer.ts. */
export interface VmLayer {
    /** Builds or locates the guest images these VMs boot (the default image is built once and cached). */
    prepareImages(vms: VmPlan[], onProgress: (e: ProgressEvent) => void): Promise<void>;
    /** Launches QEMU; returns once the process runs (it may still wait for the switch). */
    start(vm: VmPlan): Promise<void>;
    /** Resolves when the guest is up (agent answers / marker seen); throws naming the cause otherwise. */
    waitReady(vm: VmPlan, opts: { timeoutMs: number; onProgress: (e: ProgressEvent) => void }): Promise<void>;
    /** Powerdown, then kill; removes the VM's sockets and pidfile. "Already gone" is success. */
    stop(vm: VmPlan): Promise<void>;
    status(vm: VmPlan): Promise<VmStatus>;
    ping(vm: VmPlan, address: string, opts: { count: number; timeoutMs: number }): Promise<PingResult>;
    /** COUNT echoes INTERVAL s apart: answered count and median round trip (expect rtt; tests of impairments). */
    pingStats?(vm: VmPlan, address: string, opts: { count: number; intervalS: number; deadlineS: number }): Promise<PingStats>;
    /** TCP throughput from this guest to ADDRESS with iperf3 in the guests (expect throughput). */
    iperf3?(vm: VmPlan, address: string, opts: { seconds: number }): Promise<{ ok: boolean; mbps?: number; error?: string }>;
    /** The QEMU argv for this VM (exports), without building anything. */
    argv(vm: VmPlan): string[];
    /** The QEMU binary a deploy will run (checked before anything starts). */
    qemuBinary(): string;
    /** Runs argv in the guest (its agent's exec channel); resolves with the exit code. */
    exec(vm: VmPlan, argv: string[], io: ExecIo, opts: { signal?: AbortSignal }): Promise<number>;
    /** Carrier of the guest NIC `nic` (topology port name). */
    setLink(vm: VmPlan, nic: string, up: boolean): Promise<void>;
    /** The guest's console lock: throws (code console-busy) while another console holds it. */
    takeConsole(vm: VmPlan): Lock;
}

export interface HugepageOps {
    reserve(hp: NonNullable<HostPlan['hugepages']>, onRecord: (r: HugepageReservation) => void): HugepageReservation;
    release(r: HugepageReservation): void;
    /** Moves a reservation to `hp.count` pages of the same size, keeping its mount. */
    resize(r: HugepageReservation, hp: NonNullable<HostPlan['hugepages']>, onRecord: (r: HugepageReservation) => void): HugepageReservation;
    /**
     * The host's pages of a size, and the kB of them each process (by name → pid, and optionally
     * only its mappings whose path contains `pathIncludes`) maps now (status, destroy).
     */
    observe?(sizeKb: number, users: Record<string, { pid: number; pathIncludes?: string[] }>): { host?: { total: number; free: number }; usedKb: Record<string, number> };
}

export interface RuntimeDeps {
    backend(kind: DatapathKind): Promise<DatapathBackend>;
    vms: VmLayer;
    hostFacts(sourceFile: string): HostFacts;
    hugepages: HugepageOps;
    /** How long a guest may take to become ready (TCG boots take ~10 s on 2 cores). */
    readyTimeoutMs?: number;
}
