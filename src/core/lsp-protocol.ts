/**
 * The custom LSP messages between the VS Code client and the vtopo language
 * server, declared once for both sides. The server hosts the runtime (same
 * functions as the CLI); the client only asks and renders. Runtime failures
 * travel as `Outcome` values so the user-facing `fix` survives the wire.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { DeployResult, ImpairResult, PlanResult, ProgressEvent, VerifyResult } from './api.js';
import type { ImpairmentPlan } from './plan.js';
import type { Status, VmStatus } from './status.js';
import type { DatapathKind } from './limits.js';

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }

/** Where an element is declared: the document and the range of its name. */
export interface Declared { uri: string; range: Range }

export interface ModelPort extends Declared {
    /** `<vm>.<port>`, the id status uses. */
    id: string;
    vm: string;
    name: string;
    bridge?: string;
    queues: number;
}
export interface ModelVm extends Declared {
    name: string;
    cpus: number;
    ports: ModelPort[];
    /** The named host it is placed on (multi-host files); absent on one host. */
    host?: string;
}
/** A named host of a multi-host file: this machine, a simulated one (`netns`) or a remote one (`ssh`). */
export interface ModelHost extends Declared { name: string; kind: 'local' | 'netns' | 'ssh'; underlay?: string; ssh?: string }
/** An OVN logical router and the bridges it has an address on. */
export interface ModelRouter extends Declared { name: string; ports: { bridge: string; network: string }[] }
export interface ModelBridge extends Declared { name: string; datapath: DatapathKind }
export interface ModelNic extends Declared { name: string; bridge?: string; driver?: string; queues: number }
export interface ModelLink extends Declared { id: string; a: string; b: string }

/** The static shape of one topology, read from the AST (no runtime needed). */
export interface TopologyModel extends Declared {
    name: string;
    /** File system path of the document. */
    file: string;
    bridges: ModelBridge[];
    nics: ModelNic[];
    vms: ModelVm[];
    links: ModelLink[];
    /** Named hosts (empty on a one-host file). */
    hosts: ModelHost[];
    routers: ModelRouter[];
}

export interface RuntimeFailure { message: string; fix?: string; code?: string }
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: RuntimeFailure };

export interface FileParams {
    /** file:// URI of the .vtopo document. */
    uri: string;
}
export interface ProgressParams extends FileParams {
    /** Echoed in ProgressNotification so the client routes steps to the right progress UI. */
    progressId: string;
}

export type ExportFormat = 'ovs-vsctl' | 'ovn-nbctl' | 'qemu' | 'libvirt';
export interface ExportResult { text: string; language: string }

export interface ConsoleTarget { socket: string; serialLog?: string }
export interface CaptureStarted { file: string }
export interface CaptureStopped { file: string; packets?: number }

/** A topology with whatever the server last heard from the runtime. */
export interface TopologyView { model: TopologyModel; status?: Status }

export const PlanRequest = new RequestType<ProgressParams, Outcome<PlanResult>, void>('vtopo/plan');
export const DeployRequest = new RequestType<ProgressParams, Outcome<DeployResult>, void>('vtopo/deploy');
export const DestroyRequest = new RequestType<ProgressParams, Outcome<Status | null>, void>('vtopo/destroy');
export const VerifyRequest = new RequestType<ProgressParams, Outcome<VerifyResult>, void>('vtopo/verify');
export const StatusRequest = new RequestType<FileParams, Outcome<Status>, void>('vtopo/status');
/** `host`: one host's part of a multi-host file (`vtopo export FILE --format ovs-vsctl --host H`). */
export const ExportRequest = new RequestType<FileParams & { format: ExportFormat; host?: string }, Outcome<ExportResult>, void>('vtopo/export');
export const ConsoleRequest = new RequestType<FileParams & { vm: string }, Outcome<ConsoleTarget>, void>('vtopo/console');
/** The editor's console terminal of `vm` closed: the server gives back the console lock it took for it. */
export const ConsoleReleaseNotification = new NotificationType<FileParams & { vm: string }>('vtopo/consoleRelease');
export const CaptureStartRequest = new RequestType<FileParams & { port: string; file: string }, Outcome<CaptureStarted>, void>('vtopo/captureStart');
export const CaptureStopRequest = new RequestType<FileParams & { port: string }, Outcome<CaptureStopped>, void>('vtopo/captureStop');
/** One guest: start, stop or restart (`vtopo start|stop|restart`). */
export const GuestRequest = new RequestType<ProgressParams & { vm: string; action: 'start' | 'stop' | 'restart' }, Outcome<VmStatus>, void>('vtopo/guest');
/** A port's carrier (`vtopo link PORT down|up`): `vm.port`, a nic or a link id. */
export const LinkRequest = new RequestType<FileParams & { port: string; up: boolean }, Outcome<null>, void>('vtopo/link');
/** `vtopo impair FILE PORT …` from the editor: the whole new impairment of a port or link (`{}` clears it). */
export const ImpairRequest = new RequestType<FileParams & { port: string; impair: ImpairmentPlan }, Outcome<ImpairResult>, void>('vtopo/impair');
/** Every topology the server knows (open and workspace documents), with live status when deployed; `recheck` asks the runtime again first. */
export const TopologiesRequest = new RequestType<{ uri?: string; recheck?: boolean }, TopologyView[], void>('vtopo/topologies');

/** One deploy/destroy/plan/verify step, as the runtime reports it. */
export const ProgressNotification = new NotificationType<{ progressId: string; event: ProgressEvent }>('vtopo/progress');
/** Pushed by runtime.watch whenever a deployed topology's status changes; null when it is gone. */
export const StatusNotification = new NotificationType<{ uri: string; topology: string; status: Status | null }>('vtopo/status');
/** The set of topologies or their shape changed (document edited, added, removed). */
export const TopologiesChangedNotification = new NotificationType<{ uris: string[] }>('vtopo/topologiesChanged');
