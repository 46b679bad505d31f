import { describe, expect, it } from 'vitest';
import { toPlanned, type Action } from '../../src/runtime/actions.js';
import { reconcile, type LiveView } from '../../src/runtime/reconcile.js';
import type { Plan } from '../../src/core/plan.js';
import { planFromText, TWO } from './helpers.js';

const lines = (as: Action[]) => as.map((a) => { const p = toPlanned(a); return `${p.kind} ${p.target}`; });

/** What runs when `plan` is fully deployed and healthy. */
function liveOf(plan: Plan, vmState: 'running' | 'crashed' = 'running'): LiveView {
    return {
        datapaths: {
            embedded: {
                running: true,
                inventory: {
                    bridges: plan.bridges.map((b) => b.name), links: plan.links.map((l) => l.id),
                    vmPorts: plan.vms.flatMap((v) => v.ports.map((p) => p.id)), nics: plan.nics.map((n) => n.name),
                },
            },
        },
        vms: Object.fromEntries(plan.vms.map((v) => [v.name, vmState])),
    };
}

describe('reconcile', () => {
    it('creates everything on a fresh host in dependency order', async () => {
        const p = await planFromText(TWO());
        expect(lines(reconcile(p, undefined, { datapaths: {}, vms: {} }))).toEqual([
            'start-datapath datapath embedded', 'add-bridge bridge br0', 'add-bridge bridge br1',
            'start-vm vm a', 'start-vm vm b', 'add-port port a.eth0', 'add-port port b.eth0',
        ]);
    });

    it('changes nothing when the file is unchanged and everything runs', async () => {
        const p = await planFromText(TWO());
        expect(reconcile(p, p, liveOf(p))).toEqual([]);
    });

    it('a VLAN change re-adds the port and restarts no guest', async () => {
        const before = await planFromText(TWO());
        const after: Plan = { ...before, vms: before.vms.map((v) => v.name === 'a' ? { ...v, ports: v.ports.map((p) => ({ ...p, vlan: { mode: 'access' as const, tag: 10 } })) } : v) };
        expect(lines(reconcile(after, before, liveOf(before)))).toEqual(['remove-port port a.eth0', 'add-port port a.eth0']);
    });

    it('after adding a VM and changing queues touches only those guests', async () => {
        const before = await planFromText(TWO());
        const after = await planFromText(TWO('vm c { port eth0 { bridge br0  ip 10.0.0.3/24 } }', 2, 2));
        const got = lines(reconcile(after, before, liveOf(before)));
        expect(got).toEqual([
            'remove-port port a.eth0', 'stop-vm vm a', 'start-vm vm a', 'start-vm vm c', 'add-port port a.eth0', 'add-port port c.eth0',
        ]);
        expect(got.some((l) => l.includes(' b'))).toBe(false);
        const stop = reconcile(after, before, liveOf(before)).find((a) => a.kind === 'stop-vm')!;
        expect(stop.reason).toMatch(/queues 1→2/);
    });

    it('moves a port to another bridge without restarting its guest', async () => {
        const before = await planFromText(TWO());
        const after = await planFromText(TWO().replace('vm b { port eth0 { bridge br0', 'vm b { port eth0 { bridge br1'));
        expect(lines(reconcile(after, before, liveOf(before)))).toEqual(['remove-port port b.eth0', 'add-port port b.eth0']);
    });

    it('restarts a crashed guest and re-adds its port', async () => {
        const p = await planFromText(TWO());
        const live = liveOf(p);
        live.vms.b = 'crashed';
        expect(lines(reconcile(p, p, live))).toEqual(['remove-port port b.eth0', 'stop-vm vm b', 'start-vm vm b', 'add-port port b.eth0']);
    });

    it('restarts a vanished datapath and re-adds its contents while guests keep running', async () => {
        const p = await planFromText(TWO());
        const live: LiveView = { datapaths: { embedded: { running: false } }, vms: { a: 'running', b: 'running' } };
        expect(lines(reconcile(p, p, live))).toEqual([
            'start-datapath datapath embedded', 'add-bridge bridge br0', 'add-bridge bridge br1', 'add-port port a.eth0', 'add-port port b.eth0',
        ]);
    });

    it('removes a guest dropped from the file, and a bridge with it', async () => {
        const before = await planFromText(TWO());
        const after = await planFromText(TWO().replace(/vm b \{[^\n]*\n/, '').replace('bridge br1\n', ''));
        expect(lines(reconcile(after, before, liveOf(before)))).toEqual(['remove-port port b.eth0', 'stop-vm vm b', 'remove-bridge bridge br1']);
    });

    it('reserves hugepages before starting what uses them', async () => {
        const p = await planFromText(TWO().replace('poll-cores 1', 'poll-cores 1  hugepages 512M'));
        const got = lines(reconcile(p, undefined, { datapaths: {}, vms: {} }));
        expect(got[0]).toBe('reserve-hugepages hugepages 256 x 2M');
    });
});
