/**
 * AST → Plan. PURE: no file system, processes or clock; everything the host
 * contributes arrives in HostFacts. Assumes a checked topology (the checker
 * reports user errors with positions); what it still refuses here, it
 * refuses with a VtopoError.
 */
import * as path from 'node:path';
import type { Bridge, Expect, Fabric, Host, Impairment, Link, Model, Nic, Port, Topology, Vm } from '../language/generated/ast.js';
import { readExpectation, readImpairment } from '../language/impairment.js';
import { impairmentProblem } from '../core/impair.js';
import {
    DATAPATH_RESERVE_BYTES, bridgeDatapath, bridgeMtu, hostCores, hostOf, hostPollCores, hugepagesOf, isLocalHost, nicMtu, nicQueues,
    portMrgRxbuf, portMtu, portQueues, portRing, portVhost, vmCpus, vmHost, vmMemory,
} from '../language/defaults.js';
import { isValidIfname, parseCoreList, parseOvsdbRemote } from '../language/units.js';
import { vlanOf } from '../language/vlans.js';
import { VtopoError } from '../core/api.js';
import { deriveInstanceName, deriveMac, deriveTapName, hashHex } from './derive.js';
import { compileFabric, fabricOf, fabricServingCores } from './fabric.js';
import { hostsHere } from '../core/fabric.js';
import { assertSocketPaths, runDirOf, vhostSocketPath, vmPaths } from './paths.js';
import type {
    Accel, BridgePlan, DatapathKind, EmbeddedDatapathPlan, HostFacts, HostPlan, ImagePlan, LinkPlan, MemoryBackendPlan,
    ImpairmentPlan, NicPlan, OvsDatapathPlan, Plan, VlanPlan, VmPlan, VmPortPlan,
} from '../core/plan.js';
import { prop } from '../language/props.js';

/** OvS-DPDK's vhost library serves packed rings whenever the guest negotiates them: the OvS port takes no option for it. */
const OVS_PACKED_NOTE = 'ring packed on an ovs bridge: OvS-DPDK serves packed virtqueues when the guest negotiates them (QEMU gets packed=on), nothing is set on the OvS port';

/** The one topology of a model; runtime commands work on one topology per file. */
export function topologyOf(model: Model, file: string): Topology {
    const tops = model.topologies ?? [];
    if (tops.length === 1) return tops[0];
    if (tops.length === 0) {
        throw new VtopoError(`${file} declares no topology`, 'add `topology NAME { … }` to the file', 'no-topology');
    }
    throw new VtopoError(
        `${file} declares ${tops.length} topologies (${tops.map((t) => t.name).join(', ')}); deploy works on one topology per file`,
        'move each topology into its own .vtopo file',
        'several-topologies',
    );
}

export function linkId(a: string, b: string): string {
    return [a, b].sort().join('--');
}

function elements<T extends { $type: string }>(t: Topology, type: string): T[] {
    return t.elements.filter((e) => e.$type === type) as unknown as T[];
}

/**
 * Queue q of a port → serving core. Each port starts at an offset hashed
 * from its own id, so adding or removing another port never moves this
 * port's queues (a re-deploy then leaves it untouched).
 */
/** `vlan` only when the block has VLAN settings: plans (and golden files) without them are unchanged. */
function vlanField(n: Port | Nic): { vlan?: VlanPlan } {
    const v = vlanOf(n);
    return v ? { vlan: v } : {};
}

function queueCores(id: string, queues: number, cores: number[]): number[] {
    const start = Number.parseInt(hashHex(id).slice(0, 8), 16) % cores.length;
    return Array.from({ length: queues }, (_, q) => cores[(start + q) % cores.length]);
}

function hostPlan(host: Host | undefined, vms: Vm[], runDir: string, facts: HostFacts, usesOvs: boolean): HostPlan {
    const cores = hostCores(host) ?? facts.onlineCpus ?? [0];
    const hp = hugepagesOf(host);
    const guestBytes = vms.reduce((s, v) => s + vmMemory(v), 0);
    return {
        cores,
        memoryBytes: prop(host, 'memory') ?? guestBytes + (usesOvs ? DATAPATH_RESERVE_BYTES.ovs : DATAPATH_RESERVE_BYTES.embedded),
        ...(hp && hp.count > 0 ? { hugepages: { pageSizeBytes: hp.pageSizeBytes, count: hp.count, mountDir: path.join(runDir, 'hugepages') } } : {}),
        pollCores: hostPollCores(host),
    };
}

function chooseAccel(vm: Vm, facts: HostFacts): { requested: 'auto' | 'kvm' | 'tcg'; accel: Accel } {
    const requested = (prop(vm, 'accel') as 'auto' | 'kvm' | 'tcg' | undefined) ?? 'auto';
    if (requested === 'auto') return { requested, accel: facts.kvmUsable ? 'kvm' : 'tcg' };
    return { requested, accel: requested };
}

/** A path of the file, relative to the file's directory (which the caller passes in absolute). */
function underSource(sourceDir: string, p: string): string {
    return path.isAbsolute(p) ? path.normalize(p) : path.join(sourceDir, p);
}

function imagePlan(vm: Vm, sourceDir: string): ImagePlan {
    const img = prop(vm, 'image');
    if (!img || img.$type === 'DefaultImage') return { kind: 'default' };
    if (img.$type === 'KernelImage') {
        return {
            kind: 'kernel',
            kernel: underSource(sourceDir, img.kernel),
            ...(img.initrd !== undefined ? { initrd: underSource(sourceDir, img.initrd) } : {}),
            ...(img.append !== undefined ? { append: img.append } : {}),
        };
    }
    return { kind: 'disk', path: underSource(sourceDir, img.path) };
}

function requireBridge(owner: string, ref: { ref?: Bridge; $refText?: string } | undefined): Bridge {
    if (!ref?.ref) {
        throw new VtopoError(
            `${owner} is not attached to a known bridge${ref?.$refText ? ` ('${ref.$refText}' is not declared)` : ''}`,
            `add \`bridge NAME\` to ${owner} naming a declared bridge (run \`vtopo check\` for details)`,
            'unattached',
        );
    }
    return ref.ref;
}

/**
 * Named hosts and routers need a `fabric` to join them; a file with one
 * local named host and no fabric is a single-host file like any other.
 */
function refuseWithoutFabric(topology: Topology): void {
    if (fabricOf(topology)) return;
    const named = elements<Host>(topology, 'Host').filter((h) => h.name);
    const what = elements(topology, 'Router').length ? 'a router'
        : named.length > 1 || named.some((h) => !isLocalHost(h)) ? `named hosts (${named.map((h) => h.name).join(', ')})` : undefined;
    if (!what) return;
    throw new VtopoError(`topology ${topology.name} has ${what} but no fabric block to join its hosts`,
        'add `fabric { engine ovn  central HOST }` (OVN joins the hosts), or keep one unnamed `host { … }` block', 'fabric-missing');
}

/** The host of `--host H`, checked: it must be a named host of a topology with a fabric. */
function scopeOf(topology: Topology, fabric: Fabric | undefined, host: string | undefined): string | undefined {
    if (host === undefined) return undefined;
    if (!fabric) {
        throw new VtopoError(`--host ${host}: topology ${topology.name} has no fabric, so it runs on one host only`,
            'drop --host (it picks one host\'s part of a topology across hosts)', 'host-unknown');
    }
    const names = elements<Host>(topology, 'Host').map((h) => h.name).filter((n): n is string => !!n);
    if (!names.includes(host)) {
        throw new VtopoError(`--host ${host}: topology ${topology.name} has no host ${host}`, `name one of its hosts: ${names.join(', ')}`, 'host-unknown');
    }
    return host;
}

export function compilePlan(topology: Topology, facts: HostFacts): Plan {
    const name = topology.name;
    for (const [what, p] of [['runRoot', facts.runRoot], ['sourceFile', facts.sourceFile]] as const) {
        if (!path.isAbsolute(p)) {
            throw new VtopoError(`the plan needs an absolute ${what}, got '${p}'`, 'resolve it against the working directory before compiling (host facts do)', 'relative-path');
        }
    }
    refuseWithoutFabric(topology);
    const fabricAst = fabricOf(topology);
    const scope = scopeOf(topology, fabricAst, facts.scopeHost);
    const runDir = runDirOf(facts.runRoot, name, scope);
    const sourceDir = path.dirname(facts.sourceFile);
    // Under --host, this machine is that host: its resources are the ones to plan with.
    const host = scope ? elements<Host>(topology, 'Host').find((h) => h.name === scope) : hostOf(topology);
    const bridgesAst = elements<Bridge>(topology, 'Bridge');
    const vmsAst = elements<Vm>(topology, 'Vm');
    const nicsAst = elements<Nic>(topology, 'Nic');
    const linksAst = elements<Link>(topology, 'Link');
    const notes: string[] = [];
    const warnings: string[] = [];

    const bridges: BridgePlan[] = bridgesAst.map((b) => ({ name: b.name, datapath: bridgeDatapath(b), mtu: bridgeMtu(b) }));
    const kinds = new Set<DatapathKind>(bridges.map((b) => b.datapath));
    const runsHere = (v: Vm) => !fabricAst || (scope ? vmHost(v)?.name === scope : prop(vmHost(v), 'ssh') === undefined);
    const hereVms = vmsAst.filter(runsHere);
    const hp = hostPlan(host, hereVms, runDir, facts, kinds.has('ovs'));
    const existingOvs = kinds.has('ovs') && !fabricAst ? existingOvsdb(host, facts) : undefined;
    // The cores that poll a port's queues: OvS-DPDK's PMD cores default to the last host core, not all of them.
    const servingCores = (dp: DatapathKind) => (hp.pollCores.length ? hp.pollCores : dp === 'ovs' && !existingOvs ? defaultPmdCores(hp) : hp.cores);

    const links: LinkPlan[] = [];
    for (const l of linksAst) {
        const a = requireBridge('a link', l.a).name;
        const b = requireBridge('a link', l.b).name;
        const [x, y] = [a, b].sort();
        const impair = impairmentOf(`link ${a} ${b}`, l.impair);
        if (!links.some((k) => k.id === linkId(x, y))) links.push({ id: linkId(x, y), a: x, b: y, ...(impair ? { impair } : {}) });
    }

    const nics: NicPlan[] = nicsAst.map((n) => {
        const br = requireBridge(`nic ${n.name}`, prop(n, 'bridge'));
        const d = prop(n, 'driver');
        // It reaches `ip link` and DPDK devargs: never let it carry options.
        if (d?.$type === 'AfPacketDriver' && !isValidIfname(d.iface)) {
            throw new VtopoError(`nic ${n.name}: "${d.iface}" is not a valid interface name`, 'name the host interface as `ip link` shows it, e.g. "eth1"', 'iface-invalid');
        }
        const driver: NicPlan['driver'] = !d || d.$type === 'TapDriver'
            ? { kind: 'tap', ifname: deriveTapName(name, n.name) }
            : d.$type === 'AfPacketDriver' ? { kind: 'af_packet', iface: d.iface } : { kind: 'pci', address: d.address };
        return {
            name: n.name, bridge: br.name, datapath: bridgeDatapath(br), driver,
            queues: nicQueues(n), rss: [...(n.rss ?? [])], mtu: nicMtu(n), ...vlanField(n),
        };
    });

    const usedMacs = new Set<string>();
    for (const v of vmsAst) {
        for (const p of v.ports) {
            const mac = prop(p, 'mac');
            if (mac) usedMacs.add(mac.toLowerCase());
        }
    }
    const macFor = (vm: string, p: Port): string => {
        const mac = prop(p, 'mac');
        if (mac) return mac.toLowerCase();
        for (let salt = 0; ; salt++) {
            const mac = deriveMac(name, vm, p.name, salt);
            if (!usedMacs.has(mac)) { usedMacs.add(mac); return mac; }
        }
    };

    let tcgNoted = false;
    const vms: VmPlan[] = vmsAst.map((v) => {
        const { requested, accel } = chooseAccel(v, facts);
        if (requested === 'kvm' && !facts.kvmUsable) {
            notes.push(`vm ${v.name} asks for accel kvm, which deploy will refuse: KVM is not usable here${facts.kvmReason ? `: ${facts.kvmReason}` : ''}`);
        }
        const memoryBackend: MemoryBackendPlan = hp.hugepages
            ? { kind: 'file', dir: hp.hugepages.mountDir, pageSizeBytes: hp.hugepages.pageSizeBytes }
            : { kind: 'memfd' };
        const ports: VmPortPlan[] = v.ports.map((p) => {
            const br = requireBridge(`port ${v.name}.${p.name}`, prop(p, 'bridge'));
            const datapath = bridgeDatapath(br);
            const queues = portQueues(p);
            const vectors = accel === 'kvm' ? 2 * queues + 2 : 0;
            const impair = impairmentOf(`port ${v.name}.${p.name}`, p.impair);
            if (portRing(p) === 'packed' && datapath === 'ovs' && !notes.includes(OVS_PACKED_NOTE)) notes.push(OVS_PACKED_NOTE);
            if (accel === 'tcg' && !tcgNoted) {
                tcgNoted = true;
                notes.push('TCG guests use virtio-net vectors=0 (legacy INTx): QEMU 7.2 under TCG crashes setting up MSI-X for vhost-user virtio-net');
            }
            return {
                id: `${v.name}.${p.name}`, vm: v.name, name: p.name, bridge: br.name, datapath,
                mac: macFor(v.name, p), ...(prop(p, 'ip') ? { ip: prop(p, 'ip') } : {}), mtu: portMtu(p), queues,
                vhostMode: portVhost(p), socketPath: vhostSocketPath(runDir, v.name, p.name), mrgRxbuf: portMrgRxbuf(p),
                vectors, queueCores: queueCores(`${v.name}.${p.name}`, queues, fabricAst ? fabricServingCores(v, hp.cores) : servingCores(datapath)), ...vlanField(p),
                ...(impair ? { impair } : {}),
                ...(portRing(p) === 'packed' ? { ring: 'packed' as const } : {}),
                ...(prop(p, 'gateway') ? { gateway: prop(p, 'gateway')!.split('/')[0] } : {}),
            };
        });
        const pinText = prop(v, 'pin');
        const pin = pinText === undefined ? undefined : parseCoreList(pinText);
        return {
            name: v.name, cpus: vmCpus(v), memoryBytes: vmMemory(v), ...(pin ? { pin } : {}),
            accelRequested: requested, accel, image: imagePlan(v, sourceDir), memoryBackend,
            ...vmPaths(runDir, v.name), ports,
        };
    });
    if (!facts.kvmUsable && vms.some((v) => v.accelRequested === 'auto')) {
        warnings.push(`accel auto chose tcg (guests boot slower): KVM is not usable here${facts.kvmReason ? `: ${facts.kvmReason}` : ''}`);
    }
    for (const n of nics) kinds.add(n.datapath);
    for (const v of vms) for (const p of v.ports) kinds.add(p.datapath);

    const datapaths: Plan['datapaths'] = {};
    const fabric = fabricAst ? compileFabric(topology, runDir, vms, vmsAst, scope) : undefined;
    if (fabric) {
        const mine = hostsHere(fabric);
        const here = mine.find((h) => h.kind === 'local') ?? mine[0] ?? fabric.hosts[0];
        datapaths.ovs = { mode: 'fabric', dbSocket: here.ovs.dbSocket, runDir: path.join(runDir, 'ovs'), rxqPlacement: 'scheduler' };
        notes.push(`the hosts are joined by OVN (${fabric.encap} tunnels over the ${fabric.underlayMtu}-byte underlay); each host's OvS-DPDK places its queues with its own rxq scheduler`);
    } else if (kinds.has('embedded')) datapaths.embedded = embeddedPlan(runDir, hp);
    if (kinds.has('ovs') && !fabric) {
        datapaths.ovs = ovsPlan(runDir, name, hp, existingOvs);
        if (datapaths.ovs.mode === 'existing') {
            notes.push(`ovs bridges go on the existing OvS at ${datapaths.ovs.dbSocket}; vtopo changes only the bridges it creates there`);
            notes.push('that OvS\'s own rx queue scheduler places the queues of its ports on its PMD threads (vtopo pins none there); `vtopo status` shows where each queue landed');
        }
    }

    for (const n of nics) {
        const note = rssNote(n);
        if (note) notes.push(note);
    }

    const expectations = elements<Expect>(topology, 'Expect').map((e) => {
        const r = readExpectation(e, e.$cstNode ? e.$cstNode.range.start.line + 1 : 0);
        if (!r.plan) throw new VtopoError(`expect on line ${e.$cstNode ? e.$cstNode.range.start.line + 1 : '?'}: ${r.error}`, 'fix the expectation (`vtopo check` shows it)', 'expect-invalid');
        return r.plan;
    });

    // The guests of the other hosts are theirs to run (an ssh host's by its own vtopo); the logical switches still name their ports.
    const mineVms = vms.filter((_v, i) => runsHere(vmsAst[i]));
    const plan: Plan = {
        version: 1, topology: name, sourceFile: facts.sourceFile, runDir, host: hp, datapaths, bridges, links, nics, vms: mineVms, notes, warnings,
        ...(expectations.length ? { expectations } : {}),
        ...(fabric ? { fabric } : {}),
    };
    assertSocketPaths(facts.runRoot, socketsOf(plan));
    return plan;
}

/** The block's values; a value the checker would refuse stops the plan with its sentence. */
function impairmentOf(owner: string, blocks: Impairment[] | undefined): ImpairmentPlan | undefined {
    const r = readImpairment(blocks);
    if (!r) return undefined;
    const e = r.errors[0];
    if (e) throw new VtopoError(`${owner}: ${e.word}: ${e.message}`, 'fix the impair block (`vtopo check` shows it)', 'impair-value-invalid');
    const problem = impairmentProblem(r.plan);
    if (problem && !(problem.key === 'jitterUs' && r.plan.delayUs)) throw new VtopoError(`${owner}: ${problem.message}`, 'fix the impair block (`vtopo check` shows it)', 'impair-needs-delay');
    return Object.keys(r.plan).length ? r.plan : undefined;
}

function embeddedPlan(runDir: string, hp: HostPlan): EmbeddedDatapathPlan {
    const d = path.join(runDir, 'embedded');
    return {
        controlSocket: path.join(d, 'control.sock'),
        pidFile: path.join(d, 'datapath.pid'),
        logFile: path.join(d, 'datapath.log'),
        pollCores: hp.pollCores,
    };
}

/**
 * The database socket of an existing OvS: `--ovsdb` (HostFacts.ovsdb) over
 * `host { ovsdb }` over the vtopo.ovsdb setting; undefined for a private OvS.
 */
function existingOvsdb(host: Host | undefined, facts: HostFacts): string | undefined {
    if (facts.ovsdb !== undefined) return ovsdbSocket(facts.ovsdb, '--ovsdb');
    const ovsdb = prop(host, 'ovsdb');
    if (ovsdb !== undefined) return ovsdbSocket(ovsdb, 'host { ovsdb }');
    return facts.defaultOvsdb ? ovsdbSocket(facts.defaultOvsdb, 'the vtopo.ovsdb setting (VTOPO_OVSDB)') : undefined;
}

/** `unix:/abs/path` → the socket path; a VtopoError naming `from` otherwise. */
export function ovsdbSocket(text: string, from: string): string {
    const socket = parseOvsdbRemote(text);
    if (!socket) {
        throw new VtopoError(`${from} "${text}" is not the unix socket of an OvS database on this host`,
            'write unix: and an absolute path, e.g. unix:/var/run/openvswitch/db.sock', 'ovsdb-invalid');
    }
    return path.normalize(socket);
}

/** Without poll-cores, a private OvS-DPDK polls on the last host core (the first ones are usually the guests'). */
function defaultPmdCores(hp: HostPlan): number[] {
    return [hp.cores[hp.cores.length - 1]];
}

function ovsPlan(runDir: string, topology: string, hp: HostPlan, existingDb?: string): OvsDatapathPlan {
    const d = path.join(runDir, 'ovs');
    // Someone else's OvS keeps its own DPDK, PMD and namespace settings.
    // Its PMD set is shared with whatever else it serves: pinning one of our queues would isolate
    // a PMD under OvS's defaults (pmd-rxq-isolate=true) and leave other queues unpolled.
    if (existingDb) return { mode: 'existing', dbSocket: existingDb, runDir: d, rxqPlacement: 'scheduler' };
    const pmdCores = hp.pollCores.length ? hp.pollCores : defaultPmdCores(hp);
    const mask = pmdCores.reduce((m, c) => m | (1n << BigInt(c)), 0n);
    const instance = deriveInstanceName(topology);
    return {
        mode: 'private',
        dbSocket: path.join(d, 'db.sock'),
        runDir: d,
        netns: instance,
        filePrefix: instance,
        pmdCpuMask: `0x${mask.toString(16)}`,
        socketMemMb: 128,
        rxqPlacement: 'pinned',
        ...(hp.hugepages ? { hugepageDir: hp.hugepages.mountDir } : { noHuge: true }),
    };
}

/** Every unix socket path a plan puts on the host (for the sockaddr_un limit and for cleanup checks). */
export function socketsOf(plan: Plan): { what: string; path: string }[] {
    const out: { what: string; path: string }[] = [];
    if (plan.datapaths.embedded) out.push({ what: 'the embedded datapath control', path: plan.datapaths.embedded.controlSocket });
    // An existing OvS's database socket is not ours: checked when parsed, and never cleaned up.
    if (plan.datapaths.ovs?.mode === 'private') {
        out.push({ what: 'the OvS database', path: plan.datapaths.ovs.dbSocket });
        out.push({ what: 'ovs-vswitchd control', path: path.join(plan.datapaths.ovs.runDir, 'ovs-vswitchd.ctl') });
    }
    if (plan.fabric?.central.kind === 'private') {
        out.push({ what: 'the OVN Northbound', path: plan.fabric.central.nbSocket }, { what: 'the OVN Southbound', path: plan.fabric.central.sbSocket });
        // ovn-northd's and the ovsdb-servers' control sockets sit beside them, pid in the name: room for 7 digits.
        out.push({ what: 'ovn-northd control', path: path.join(plan.fabric.central.dir, 'ovn-northd.1234567.ctl') });
    }
    for (const h of plan.fabric?.hosts ?? []) {
        if (h.kind === 'ssh') continue;
        out.push({ what: `host ${h.name}'s OvS database`, path: h.ovs.dbSocket });
        out.push({ what: `host ${h.name}'s ovn-controller control`, path: path.join(h.ovs.runDir, 'ovn-controller.1234567.ctl') });
    }
    for (const v of plan.vms) {
        out.push({ what: `vm ${v.name} QMP`, path: v.qmpSocket });
        out.push({ what: `vm ${v.name} agent`, path: v.agentSocket });
        out.push({ what: `vm ${v.name} console`, path: v.consoleSocket });
        for (const p of v.ports) out.push({ what: `port ${p.id}`, path: p.socketPath });
    }
    return out;
}

/**
 * What picks a NIC's queue is fixed by its driver: the kernel's flow hash
 * for tap and af_packet fanout, OvS-DPDK's IP/TCP/UDP RSS for pci ports.
 * Say so when `rss` lists less than that, so nobody expects, say, UDP to
 * stay on one queue because only ipv4-tcp was named.
 */
function rssNote(n: NicPlan): string | undefined {
    if (n.queues < 2 || n.rss.length === 0) return undefined;
    const all = ['ipv4', 'ipv4-tcp', 'ipv4-udp', 'ipv6', 'ipv6-tcp', 'ipv6-udp'];
    const extra = all.filter((f) => !n.rss.includes(f as never));
    if (extra.length === 0) return undefined;
    const who = n.driver.kind === 'pci' ? 'the RSS OvS-DPDK programs into the port' : `the kernel's flow hash (${n.driver.kind})`;
    return `nic ${n.name}: \`rss ${n.rss.join(' ')}\` is only part of what picks its queue: ${who} also spreads ${extra.join(', ')} flows over its ${n.queues} queues; the driver fixes the fields`;
}
