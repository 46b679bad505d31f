/**
 * `ring split | packed` on a port, from the text to QEMU: it parses in the
 * normative shape, the plan carries `ring: 'packed'` only when asked (absent
 * = split, so old plans and state read the same), QEMU's virtio-net-pci gets
 * packed=on, OvS ports get a note instead of a setting, a change is a VM
 * change, and the hover says which layout the port has.
 */
import { expectHover } from 'langium/test';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv, resolveBootImage } from '../../src/backends/qemu/index.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { vmChanges } from '../../src/runtime/reconcile.js';
import type { HostFacts, Plan } from '../../src/core/plan.js';
import { lab, lsp } from '../language/helpers.js';

const facts: HostFacts = { runRoot: '/run/vtopo', kvmUsable: false, kvmReason: 'no KVM here', sourceFile: '/src/r.vtopo', onlineCpus: [0, 1] };

async function planText(text: string): Promise<Plan> {
    const r = await checkText(text, 'r.vtopo');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return compilePlan(topologyOf(r.model!, 'r.vtopo'), facts);
}
const GUEST = { kernel: '/g/vmlinuz', initrd: '/g/initrd.img' };
const device = (plan: Plan, vm: number) => buildQemuArgv(plan.vms[vm], resolveBootImage(plan.vms[vm], GUEST)).find((w) => w.startsWith('virtio-net-pci'))!;

describe('ring split | packed', () => {
    it('plans packed only where asked, and QEMU gets packed=on for it', async () => {
        const plan = await planText(lab({ portA: 'bridge br0  ip 10.0.0.1/24  ring packed', portB: 'bridge br0  ip 10.0.0.2/24  ring split' }));
        expect(plan.vms[0].ports[0].ring).toBe('packed');
        expect('ring' in plan.vms[1].ports[0]).toBe(false);
        expect(device(plan, 0).split(',')).toContain('packed=on');
        expect(device(plan, 1)).not.toContain('packed');
        const plain = await planText(lab());
        expect(plain.vms.every((v) => v.ports.every((p) => !('ring' in p)))).toBe(true);
        expect(vmChanges(plain.vms[0], plan.vms[0])).toBe('eth0 ring -→packed');
    });

    it('parses the normative shape and refuses other layouts', async () => {
        const ok = await checkText('topology n { bridge br0  vm v { port eth0 { bridge br0  ring packed } } }', 'n.vtopo');
        expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const bad = await checkText('topology n { bridge br0  vm v { port eth0 { bridge br0  ring folded } } }', 'n.vtopo');
        expect(bad.diagnostics.some((d) => d.severity === 'error')).toBe(true);
        const twice = await checkText('topology n { bridge br0  vm v { port eth0 { bridge br0  ring packed  ring split } } }', 'n.vtopo');
        expect(twice.diagnostics.map((d) => d.code)).toContain('property-duplicate');
    });

    it('on an OvS bridge: a note, nothing set on the OvS port', async () => {
        const plan = await planText(lab({ elements: 'bridge o { datapath ovs }', portA: 'bridge o  ip 10.0.0.1/24  ring packed', portB: 'bridge o  ip 10.0.0.2/24' }));
        expect(plan.vms[0].ports[0]).toMatchObject({ datapath: 'ovs', ring: 'packed' });
        expect(plan.notes.filter((n) => n.includes('ring packed'))).toHaveLength(1);
        const split = await planText(lab({ elements: 'bridge o { datapath ovs }', portA: 'bridge o  ip 10.0.0.1/24', portB: 'bridge o  ip 10.0.0.2/24' }));
        expect(split.notes.some((n) => n.includes('ring packed'))).toBe(false);
    });

    it('hovers explain the two layouts and the one in use', async () => {
        const hover = expectHover(lsp.Vtopo);
        await hover({ text: lab({ portA: 'bridge br0  ip 10.0.0.1/24  <|>ring packed' }), index: 0, hover: /one ring of descriptors[\s\S]*Here:\* packed virtqueues/ });
        await hover({ text: lab({ portA: 'bridge br0  ip 10.0.0.1/24  ring <|>split' }), index: 0, hover: /descriptor table, available ring and used ring/ });
        await hover({ text: lab({ portA: 'bridge br0  ip 10.0.0.1/24  ring <|>packed' }), index: 0, hover: /wrap bits/ });
    });
});
