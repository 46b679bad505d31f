/** Forced accel against host facts, checked before a deploy touches anything (fake backends, nothing boots). */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostFacts, Plan } from '../../src/core/plan.js';
import type { Action } from '../../src/runtime/actions.js';
import { VtopoError } from '../../src/core/api.js';
import { preflight } from '../../src/host/preflight.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { fakeWorld, type FakeWorld } from './fakes.js';
import { planFromText } from './helpers.js';

const topo = (accel: string) => `topology t {
  bridge br0
  vm a { accel ${accel}  port eth0 { bridge br0  ip 10.0.0.1/24 } }
}`;
const NO_KVM = { kvmUsable: false, kvmReason: '/dev/kvm does not exist' };

let dir: string;
let w: FakeWorld;
beforeEach(() => {
    dir = mkdtempSync('/tmp/vtpf-');
    w = fakeWorld(path.join(dir, 'run'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function withFacts(over: Partial<HostFacts>) {
    const base = w.deps.hostFacts;
    w.deps.hostFacts = (f) => ({ ...base(f), ...over });
}
const starts = (plan: Plan): Action[] => plan.vms.map((vm) => ({ kind: 'start-vm', vm, reason: 'new' }));

describe('preflight: accel kvm', () => {
    it('refuses on a host without KVM, naming the vm, the cause and the fix', async () => {
        withFacts(NO_KVM);
        const plan = await planFromText(topo('kvm'), NO_KVM);
        const err = await preflight(plan, starts(plan), w.deps).catch((e) => e);
        expect(err).toBeInstanceOf(VtopoError);
        expect(err.code).toBe('no-kvm');
        expect(err.message).toBe('vm a asks for accel kvm, but KVM is not usable here: /dev/kvm does not exist');
        expect(err.fix).toMatch(/`accel auto` \(or `accel tcg`\) for vm a/);
    });

    it('passes when KVM is usable, and accel auto/tcg pass without KVM', async () => {
        withFacts({ kvmUsable: true, kvmReason: undefined });
        const kvm = await planFromText(topo('kvm'), { kvmUsable: true });
        await expect(preflight(kvm, starts(kvm), w.deps)).resolves.toBeUndefined();
        withFacts(NO_KVM);
        for (const accel of ['auto', 'tcg']) {
            const p = await planFromText(topo(accel), NO_KVM);
            await expect(preflight(p, starts(p), w.deps)).resolves.toBeUndefined();
        }
    });

    it('deploy stops at the refusal: no backend call, no VM started, no state written', async () => {
        withFacts(NO_KVM);
        const file = path.join(dir, 't.vtopo');
        writeFileSync(file, topo('kvm'));
        const err = await createRuntime(w.deps).deploy(file).catch((e) => e);
        expect(err).toMatchObject({ code: 'no-kvm', message: expect.stringMatching(/KVM is not usable here: \/dev\/kvm does not exist/) });
        expect(w.calls).toEqual([]);
        expect(existsSync(path.join(dir, 'run', 't', 'state', 'state.json'))).toBe(false);
    });
});
