/**
 * The contract between the runtime (reconcile → execute) and the backends.
 * Every method takes plain Plan data and must work from a fresh process
 * after any crash: nothing is kept in memory between calls that cannot be
 * found again from the plan (pidfiles, sockets, the datapath's own state).
 */
import type { BridgePlan, DatapathKind, ImpairmentPlan, LinkPlan, NicPlan, Plan, VmPortPlan } from '../core/plan.js';
import type { HostDeployResult } from '../core/api.js';
import type { DatapathStatus, FabricStatus, LinkStatus, PollerStatus, PortStatus } from '../core/status.js';

export type ImpairTarget = { port: string } | { link: string };

export interface DatapathSnapshot {
    datapath: DatapathStatus;
    ports: PortStatus[];
    /** Its patch links between bridges, per direction (Status.links). */
    links?: LinkStatus[];
    /** Its polling threads and the queues each polls (Status.pollers). */
    pollers?: PollerStatus[];
    /** What the datapath itself warns about (e.g. OvS log lines naming our ports). */
    warnings?: { port?: string; message: string }[];
    /** A datapath across hosts (OVN): its hosts, chassis, tunnels and bindings (Status.fabric). */
    fabric?: FabricStatus;
}

/** What a running datapath holds now, by name, so reconcile can diff. */
export interface DatapathInventory {
    bridges: string[];
    /** LinkPlan ids (`a--b`). */
    links: string[];
    /** VmPortPlan ids (`vm.port`). */
    vmPorts: string[];
    /** NIC names. */
    nics: string[];
}

export interface DatapathBackend {
    readonly kind: DatapathKind;
    /** True when the datapath for this plan answers. */
    running(plan: Plan): Promise<boolean>;
    /** Starts the datapath if it is not running; idempotent. */
    start(plan: Plan): Promise<void>;
    /**
     * Stops the datapath and removes everything it created (sockets, taps,
     * runtime files). Works from the plan alone; "already gone" is success.
     */
    stop(plan: Plan): Promise<void>;
    inventory(plan: Plan): Promise<DatapathInventory>;
    addBridge(plan: Plan, bridge: BridgePlan): Promise<void>;
    removeBridge(plan: Plan, name: string): Promise<void>;
    addLink(plan: Plan, link: LinkPlan): Promise<void>;
    removeLink(plan: Plan, id: string): Promise<void>;
    addVmPort(plan: Plan, port: VmPortPlan): Promise<void>;
    removeVmPort(plan: Plan, id: string): Promise<void>;
    addNic(plan: Plan, nic: NicPlan): Promise<void>;
    removeNic(plan: Plan, name: string): Promise<void>;
    /**
     * Sets a port's (towards its guest) or a link's (both ways) impairment in
     * place, `{}` clears it; nothing is re-created and traffic keeps flowing.
     * add-port/add-link apply the plan's impairment themselves.
     */
    setImpair(plan: Plan, target: ImpairTarget, impair: ImpairmentPlan): Promise<void>;
    snapshot(plan: Plan): Promise<DatapathSnapshot>;
    /**
     * What a datapath that is not (wholly) running can still tell: e.g. a
     * fabric with one host's ovn-controller dead names that host while the
     * others answer. Status uses it instead of a bare "not running";
     * undefined (or no method): nothing to tell.
     */
    describe?(plan: Plan): Promise<DatapathSnapshot | undefined>;
    /**
     * After deploy's guests are up: waits (bounded) until the datapath has
     * taken in these ports, so deploy returns with traffic flowing. Never
     * fails a deploy: a port still down is for status to explain.
     */
    settle?(plan: Plan, portIds: string[], onWait: (message: string) => void): Promise<void>;
    /**
     * Optional push channel: calls `onEvent` the moment the datapath reports
     * a change of one of this plan's ports, so status need not wait for the
     * next poll. Backends without one are polled only.
     */
    subscribe?(plan: Plan, onEvent: (e: DatapathEvent) => void): Promise<{ close(): void }>;
    /**
     * Carrier off/on on the datapath's side of a port (`vm.port`, a NIC
     * name) or of both ends of a patch link (its id): nothing goes in or out
     * while it is down. The guest's own carrier is the VM layer's (QMP set_link).
     */
    setLink?(plan: Plan, target: { port: string } | { link: string }, up: boolean): Promise<void>;
    /**
     * Mirrors a port's frames, both directions, as a pcap byte stream (the
     * global header first) until `stop`. `workDir` is where it may keep
     * files while it runs; it removes them itself.
     */
    openCapture?(plan: Plan, portId: string, workDir: string): Promise<CaptureStream>;
    /**
     * After this machine's part is deployed: the parts other machines run
     * (a fabric's ssh hosts, each deployed there by its own vtopo), and the
     * hosts a former plan had that this one dropped. Never throws for one
     * host: each result says how its part went.
     */
    deployHosts?(plan: Plan, progress: (message: string) => void): Promise<HostDeployResult[]>;
}

export interface CaptureStream {
    /** The pcap bytes as the datapath writes them; ends once stop() has been called and all is read. */
    chunks: AsyncIterable<Buffer>;
    stop(): Promise<void>;
}

export interface DatapathEvent {
    /** `<vm>.<port>` or nic name. */
    id: string;
    kind: 'added' | 'removed' | 'link' | 'vhost' | 'error' | 'stats' | 'stuck-down';
    /** For 'stuck-down' and 'error': a sentence for a diagnostic. */
    message?: string;
}
