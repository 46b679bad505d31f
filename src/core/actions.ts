/** Actions: what reconcile decides and the executor performs. Plain data. */
import type { BridgePlan, DatapathKind, HostPlan, ImpairmentPlan, LinkPlan, NicPlan, VmPlan, VmPortPlan } from './plan.js';

export type Action =
    | { kind: 'reserve-hugepages'; hugepages: NonNullable<HostPlan['hugepages']>; reason: string }
    | { kind: 'release-hugepages'; reason: string }
    /** Same page size and mount, another count: nr_hugepages moves, the mount and the guests on it stay. */
    | { kind: 'resize-hugepages'; hugepages: NonNullable<HostPlan['hugepages']>; reason: string }
    | { kind: 'start-datapath'; datapath: DatapathKind; reason: string }
    | { kind: 'stop-datapath'; datapath: DatapathKind; reason: string }
    | { kind: 'add-bridge'; datapath: DatapathKind; bridge: BridgePlan; reason: string }
    | { kind: 'remove-bridge'; datapath: DatapathKind; name: string; reason: string }
    | { kind: 'add-link'; datapath: DatapathKind; link: LinkPlan; reason: string }
    | { kind: 'remove-link'; datapath: DatapathKind; id: string; reason: string }
    | { kind: 'add-nic'; datapath: DatapathKind; nic: NicPlan; reason: string }
    | { kind: 'remove-nic'; datapath: DatapathKind; name: string; reason: string }
    | { kind: 'add-port'; datapath: DatapathKind; port: VmPortPlan; reason: string }
    | { kind: 'remove-port'; datapath: DatapathKind; id: string; reason: string }
    /** A port's (`port: <vm>.<port>`) or a link's (`link: <id>`) impairment changed: applied in place, `{}` clears it. */
    | { kind: 'set-impair'; datapath: DatapathKind; target: { port: string } | { link: string }; impair: ImpairmentPlan; reason: string }
    | { kind: 'start-vm'; vm: VmPlan; reason: string }
    | { kind: 'stop-vm'; vm: VmPlan; reason: string };
