/**
 * reconcile against a model of the host. For every edit of the kept files
 * that still compiles (test/mutations.ts: lines and blocks removed,
 * numbers changed, words cut or replaced), from the original deployed to
 * the edit and back, healthy or with a guest crashed or the embedded
 * datapath gone: the actions are applied to a model that refuses what the
 * real backends cannot do (a port before its bridge or guest, a bridge
 * removed under its ports, guest memory on hugepages that are not
 * reserved, hugepages released under a guest...), and what the model ends
 * with must be the new plan exactly: nothing missing, nothing left over,
 * nothing still running with its old settings. Then a second reconcile
 * must find nothing to do.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { breathe } from '../support/wait.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import type { BridgePlan, DatapathKind, HostPlan, LinkPlan, NicPlan, Plan, VmPlan, VmPortPlan } from '../../src/core/plan.js';
import { targetOf, type Action } from '../../src/runtime/actions.js';
import { guestSideOfVm, reconcile, type LiveView } from '../../src/runtime/reconcile.js';
import type { VmState } from '../../src/core/status.js';
import { edits as userEdits, KEPT_FILES, variants } from '../mutations.js';

const KINDS: DatapathKind[] = ['embedded', 'ovs'];

interface DpModel {
    config: unknown;
    bridges: Map<string, BridgePlan>;
    links: Map<string, LinkPlan>;
    nics: Map<string, NicPlan>;
    ports: Map<string, VmPortPlan>;
}

interface HostModel {
    dps: Partial<Record<DatapathKind, DpModel>>;
    vms: Map<string, { vm: VmPlan; state: VmState }>;
    hugepages: HostPlan['hugepages'];
}

const dpOf = (p: Plan, kind: DatapathKind): DpModel => ({
    config: p.datapaths[kind],
    bridges: new Map(p.bridges.filter((b) => b.datapath === kind).map((b) => [b.name, b])),
    links: new Map(p.links.filter((l) => p.bridges.some((b) => b.name === l.a && b.datapath === kind)).map((l) => [l.id, l])),
    nics: new Map(p.nics.filter((n) => n.datapath === kind).map((n) => [n.name, n])),
    ports: new Map(p.vms.flatMap((v) => v.ports).filter((x) => x.datapath === kind).map((x) => [x.id, x])),
});

/** The host with `p` fully deployed and running. */
function deployedHost(p: Plan): HostModel {
    const dps: HostModel['dps'] = {};
    for (const k of KINDS) if (p.datapaths[k]) dps[k] = dpOf(p, k);
    return { dps, vms: new Map(p.vms.map((vm) => [vm.name, { vm, state: 'running' as VmState }])), hugepages: p.host.hugepages };
}

function liveOf(h: HostModel): LiveView {
    const datapaths: LiveView['datapaths'] = {};
    for (const k of KINDS) {
        const d = h.dps[k];
        if (d) datapaths[k] = { running: true, inventory: { bridges: [...d.bridges.keys()], links: [...d.links.keys()], vmPorts: [...d.ports.keys()], nics: [...d.nics.keys()] } };
    }
    return { datapaths, vms: Object.fromEntries([...h.vms].map(([n, v]) => [n, v.state])) };
}

const onHugepages = (vm: VmPlan) => vm.memoryBackend.kind === 'file';
/** A booting guest is on its way up: deploy waits for it, nothing restarts it. */
const isUp = (s: VmState | undefined) => s === 'running' || s === 'booting';
const ovsOnHugepages = (config: unknown) => !!(config as { hugepageDir?: string } | undefined)?.hugepageDir;

/** Applies one action as the backends would; throws what a backend would refuse. */
function apply(h: HostModel, a: Action, desired: Plan): void {
    function refuse(why: string): never {
        throw new Error(`${a.kind} ${targetOf(a)}: ${why}`);
    }
    const dp = (kind: DatapathKind) => h.dps[kind] ?? refuse(`datapath ${kind} is not running`);
    switch (a.kind) {
        case 'reserve-hugepages':
            if (h.hugepages) refuse('hugepages are reserved already');
            h.hugepages = a.hugepages;
            return;
        case 'release-hugepages':
            if (!h.hugepages) refuse('no hugepages are reserved');
            for (const { vm } of h.vms.values()) if (onHugepages(vm)) refuse(`vm ${vm.name} still has its memory on them`);
            if (ovsOnHugepages(h.dps.ovs?.config)) refuse('OvS-DPDK still has its memory on them');
            h.hugepages = undefined;
            return;
        case 'resize-hugepages':
            if (!h.hugepages) refuse('no hugepages are reserved');
            if (h.hugepages.pageSizeBytes !== a.hugepages.pageSizeBytes || h.hugepages.mountDir !== a.hugepages.mountDir) refuse('a resize keeps the page size and the mount');
            h.hugepages = a.hugepages;
            return;
        case 'start-datapath': {
            if (h.dps[a.datapath]) refuse('it runs already');
            const config = desired.datapaths[a.datapath];
            if (a.datapath === 'ovs' && ovsOnHugepages(config) && !h.hugepages) refuse('OvS-DPDK needs the hugepages, which are not reserved');
            h.dps[a.datapath] = { config, bridges: new Map(), links: new Map(), nics: new Map(), ports: new Map() };
            return;
        }
        case 'stop-datapath':
            delete h.dps[a.datapath];
            return;
        case 'add-bridge': {
            const d = dp(a.datapath);
            if (d.bridges.has(a.bridge.name)) refuse('it exists');
            d.bridges.set(a.bridge.name, a.bridge);
            return;
        }
        case 'remove-bridge': {
            const d = dp(a.datapath);
            if (!d.bridges.delete(a.name)) refuse('no such bridge');
            for (const p of d.ports.values()) if (p.bridge === a.name) refuse(`port ${p.id} is still on it`);
            for (const l of d.links.values()) if (l.a === a.name || l.b === a.name) refuse(`link ${l.id} still uses it`);
            for (const n of d.nics.values()) if (n.bridge === a.name) refuse(`nic ${n.name} is still on it`);
            return;
        }
        case 'add-link': {
            const d = dp(a.datapath);
            if (!d.bridges.has(a.link.a) || !d.bridges.has(a.link.b)) refuse('a bridge it joins is missing');
            if (d.links.has(a.link.id)) refuse('it exists');
            d.links.set(a.link.id, a.link);
            return;
        }
        case 'remove-link':
            if (!dp(a.datapath).links.delete(a.id)) refuse('no such link');
            return;
        case 'add-nic': {
            const d = dp(a.datapath);
            if (!d.bridges.has(a.nic.bridge)) refuse(`bridge ${a.nic.bridge} is missing`);
            if (d.nics.has(a.nic.name)) refuse('it exists');
            d.nics.set(a.nic.name, a.nic);
            return;
        }
        case 'remove-nic':
            if (!dp(a.datapath).nics.delete(a.name)) refuse('no such nic');
            return;
        case 'add-port': {
            const d = dp(a.datapath);
            if (!d.bridges.has(a.port.bridge)) refuse(`bridge ${a.port.bridge} is missing`);
            if (!isUp(h.vms.get(a.port.vm)?.state)) refuse(`vm ${a.port.vm} is not running`);
            if (d.ports.has(a.port.id)) refuse('it exists');
            d.ports.set(a.port.id, a.port);
            return;
        }
        case 'remove-port':
            if (!dp(a.datapath).ports.delete(a.id)) refuse('no such port');
            return;
        case 'start-vm': {
            const was = h.vms.get(a.vm.name);
            if (was) refuse(`it is ${was.state}; stop it first`);
            const mb = a.vm.memoryBackend;
            if (mb.kind === 'file' && (mb.pageSizeBytes !== h.hugepages?.pageSizeBytes || mb.dir !== h.hugepages.mountDir)) refuse('its memory is on hugepages that are not reserved and mounted');
            h.vms.set(a.vm.name, { vm: a.vm, state: 'running' });
            return;
        }
        case 'stop-vm':
            h.vms.delete(a.vm.name);
            return;
    }
}


/** How the model differs from `p` fully deployed ('' when it does not). */
function difference(h: HostModel, p: Plan): string {
    const want = deployedHost(p);
    for (const k of KINDS) {
        const got = h.dps[k];
        const exp = want.dps[k];
        if (!got !== !exp) return `datapath ${k} ${got ? 'left running' : 'missing'}`;
        if (!got || !exp) continue;
        if (!isDeepStrictEqual(got.config, exp.config)) return `datapath ${k} runs with its old settings`;
        for (const part of ['bridges', 'links', 'nics', 'ports'] as const) {
            for (const [name, x] of exp[part]) {
                if (!got[part].has(name)) return `${part} ${name} missing`;
                if (!isDeepStrictEqual(got[part].get(name), x)) return `${part} ${name} has its old settings`;
            }
            for (const name of got[part].keys()) if (!exp[part].has(name)) return `${part} ${name} left over`;
        }
    }
    for (const [name, { vm }] of want.vms) {
        const got = h.vms.get(name);
        if (!isUp(got?.state)) return `vm ${name} not running`;
        if (!isDeepStrictEqual(guestSideOfVm(got.vm), guestSideOfVm(vm))) return `vm ${name} runs with its old settings`;
    }
    for (const name of h.vms.keys()) if (!want.vms.has(name)) return `vm ${name} left running`;
    if (!isDeepStrictEqual(h.hugepages, p.host.hugepages)) return 'hugepages differ';
    return '';
}

async function planOf(text: string): Promise<Plan | undefined> {
    const r = await checkText(text, 'm.vtopo');
    if (r.hasErrors || !r.model) return undefined;
    try {
        return compilePlan(topologyOf(r.model, '/src/m.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/m.vtopo', onlineCpus: [0, 1, 2, 3] });
    } catch {
        return undefined; // refused with a message (typing.test checks which)
    }
}

/** The host `from` left, healthy or after a fault. */
const FAULTS: [string, (h: HostModel) => void][] = [
    ['healthy', () => {}],
    ['first guest crashed', (h) => {
        const first = h.vms.values().next().value;
        if (first) first.state = 'crashed';
    }],
    ['embedded datapath gone', (h) => {
        delete h.dps.embedded;
    }],
    ['OvS-DPDK gone', (h) => {
        delete h.dps.ovs;
    }],
    ['first guest still booting', (h) => {
        const first = h.vms.values().next().value;
        if (first) first.state = 'booting';
    }],
    ['a port missing from its datapath', (h) => {
        for (const d of Object.values(h.dps)) {
            const first = d?.ports.keys().next().value;
            if (first !== undefined) return void d!.ports.delete(first);
        }
    }],
    ['a NIC and a link missing', (h) => {
        for (const d of Object.values(h.dps)) {
            const nic = d?.nics.keys().next().value;
            if (nic !== undefined) d!.nics.delete(nic);
            const link = d?.links.keys().next().value;
            if (link !== undefined) d!.links.delete(link);
        }
    }],
];

describe('reconcile on a model host', () => {
    for (const file of KEPT_FILES.filter((f) => !f.includes('/invalid/'))) {
        it(`brings the host from ${file} to each compiling edit of it and back`, async () => {
            const text = readFileSync(file, 'utf8');
            const original = await planOf(text);
            if (!original) return; // (a fixture with errors on purpose)
            const edits: [string, Plan][] = [];
            for (const [what, variant] of [...userEdits(text), ...variants(text)]) {
                await breathe();
                const p = await planOf(variant);
                // Another topology name is another deployment, with its own state.
                if (p && p.topology === original.topology && !isDeepStrictEqual(p, original)) edits.push([what, p]);
            }
            const failures: string[] = [];
            let applied = 0;
            for (const [what, edit] of edits) {
                await breathe();
                for (const [from, to, dir] of [[original, edit, 'to'], [edit, original, 'back from']] as const) {
                    for (const [fault, breakIt] of FAULTS) {
                        const host = deployedHost(from);
                        breakIt(host);
                        const where = `${dir} ${what}, ${fault}`;
                        try {
                            for (const a of reconcile(to, from, liveOf(host))) {
                                apply(host, a, to);
                                applied++;
                            }
                        } catch (e) {
                            failures.push(`${where}: ${(e as Error).message}`);
                            continue;
                        }
                        const diff = difference(host, to);
                        if (diff) failures.push(`${where}: ${diff}`);
                        const again = reconcile(to, to, liveOf(host));
                        if (again.length) failures.push(`${where}: a second reconcile still does ${again.map((a) => `${a.kind} ${targetOf(a)}`).join(', ')}`);
                    }
                }
            }
            expect(failures.slice(0, 10)).toEqual([]);
            // The edits reach the actions: guests restart, ports and bridges move.
            expect(edits.length).toBeGreaterThan(10);
            expect(applied).toBeGreaterThan(edits.length);
        }, 120_000);
    }
});
