/**
 * The runtime's public surface: what the CLI and the language server call.
 * Both go through these functions and nothing else, so neither owns logic
 * the other lacks. Implemented in src/runtime/index.ts.
 */
import type { Status, VmStatus } from './status.js';
import type { DatapathKind, ImpairmentPlan } from './plan.js';

export interface ProgressEvent {
    /** Stable step id, e.g. 'check', 'image', 'datapath', 'bridge', 'port', 'vm', 'ready'. */
    step: string;
    /** Human text, e.g. "starting vm web (tcg)". */
    message: string;
    /** 'start' when a step begins, 'done' when it ends, 'info' for notes. */
    phase: 'start' | 'done' | 'info';
}

export interface RuntimeOptions {
    onProgress?: (e: ProgressEvent) => void;
    /**
     * `unix:/abs/path` of an existing OvS database (`--ovsdb`): plan and
     * deploy put the `datapath ovs` bridges there, overriding the file's
     * `host { ovsdb }`; status, verify and destroy reach a deployment made
     * on an existing OvS through it.
     */
    ovsdb?: string;
    /** `--host H`: act on host H's part of a topology across hosts, as run on this machine. */
    host?: string;
}

export interface PlannedAction {
    kind: string;
    target: string;
    reason?: string;
}

export interface PlanResult {
    /** Terraform-like text, one action per line. */
    text: string;
    actions: PlannedAction[];
    notes: string[];
    /** Plan-time warnings (e.g. accel auto fell back to TCG). */
    warnings?: string[];
}

export interface DeployResult {
    applied: PlannedAction[];
    status: Status;
    /** The ssh hosts' parts, each deployed there by its own vtopo: one entry per host, failed or not. */
    hosts?: HostDeployResult[];
}

/** How one other host's part of a fabric went (`vtopo deploy FILE --host H` run there). */
export interface HostDeployResult {
    host: string;
    ok: boolean;
    /** Actions that host's deploy applied (0: nothing to change there). */
    applied?: number;
    /** Why it failed, and what to do (a failed host leaves the others as they are). */
    error?: string;
    fix?: string;
}

export interface VerifyPair {
    from: string;
    to: string;
    /** As expected: reached, or for an `isolated` pair did not. */
    ok: boolean;
    /** Present for pairs on different VLANs of one segment: their ping must not get through. */
    expect?: 'isolated';
    rtt_ms?: number;
    error?: string;
}

export interface VerifyResult {
    pairs: VerifyPair[];
    /** The file's `expect` lines, each with what was measured (absent when the file has none). */
    expectations?: ExpectationResult[];
}

export interface ExpectationResult {
    line: number;
    kind: 'reaches' | 'isolated' | 'rtt' | 'throughput';
    from: string;
    to: string;
    ok: boolean;
    /** What was measured, with its unit: `12.3ms`, `187mbit`, `no reply`, `replied`. */
    measured: string;
    /** The expectation as the file writes it. */
    text: string;
    error?: string;
}

export { VtopoError } from './errors.js';

/** Where `exec` sends the guest command's output as it comes. */
export interface ExecIo {
    stdout(chunk: Buffer): void;
    stderr(chunk: Buffer): void;
}

export interface ExecOptions extends RuntimeOptions {
    /** Aborting ends the command in the guest; exec then resolves with its exit code. */
    signal?: AbortSignal;
}

export interface CaptureOptions extends RuntimeOptions {
    /** Stop after this many frames. */
    count?: number;
    /** Stop after this long. */
    durationMs?: number;
    /** Stop when aborted (Ctrl-C). */
    signal?: AbortSignal;
    /** Called once the mirror runs: frames from then on are in the capture. */
    onStarted?(): void;
}

export interface CaptureResult {
    /** Frames written (the pcap's records). */
    packets: number;
    datapath: 'embedded' | 'ovs';
}

/** A guest's serial console, held for the caller until release(). */
export interface ConsoleSession {
    socket: string;
    serialLog: string;
    release(): void;
}

export interface VtopoRuntime {
    plan(file: string, opts?: RuntimeOptions): Promise<PlanResult>;
    deploy(file: string, opts?: RuntimeOptions): Promise<DeployResult>;
    destroy(file: string, opts?: RuntimeOptions): Promise<void>;
    status(file: string, opts?: RuntimeOptions): Promise<Status>;
    verify(file: string, opts?: RuntimeOptions): Promise<VerifyResult>;
    /**
     * Pushes a Status whenever it changes (and at least every `intervalMs`):
     * polled every `pollMs` (default about 1 s) and at once on a datapath event.
     */
    watch(file: string, onStatus: (s: Status) => void, intervalMs?: number, pollMs?: number): { close(): void };
    /** Starts a guest stopped by `stopVm` (or one that crashed); resolves once it is up, with its status. */
    startVm(file: string, vm: string, opts?: RuntimeOptions): Promise<VmStatus>;
    /** Stops one guest; it stays stopped (not crashed) until startVm or the next deploy. */
    stopVm(file: string, vm: string, opts?: RuntimeOptions): Promise<VmStatus>;
    /** Stops and starts one guest; the others keep running. Status says restarting until it is up. */
    restartVm(file: string, vm: string, opts?: RuntimeOptions): Promise<VmStatus>;
    /** Runs argv in the guest through its agent, streaming its output; resolves with its exit code. */
    exec(file: string, vm: string, argv: string[], io: ExecIo, opts?: ExecOptions): Promise<number>;
    /** The guest's serial console, refused while another one is attached. */
    attachConsole(file: string, vm: string, opts?: RuntimeOptions): Promise<ConsoleSession>;
    /** A pcap of a port's frames, both directions, handed to `sink` as it comes (the global header first). */
    capture(file: string, port: string, sink: (chunk: Buffer) => void, opts?: CaptureOptions): Promise<CaptureResult>;
    /** Carrier off/on for a guest port (`vm.port`), a NIC or a patch link (`a--b`). */
    setLink(file: string, port: string, up: boolean, opts?: RuntimeOptions): Promise<void>;
    /** Sets a port's (towards its guest) or link's (both ways) impairment live, until the next deploy; `{}` clears it. */
    impair(file: string, target: string, spec: ImpairmentPlan): Promise<ImpairResult>;
}

export interface ImpairResult {
    target: string;
    datapath: DatapathKind;
    impair: ImpairmentPlan;
    /** One line saying what is now in force, e.g. "b.eth0: delay 20ms (embedded)". */
    text: string;
}
