import { describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/core/api.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';

const text = `topology t {
  host { cores 0-1  memory 4G }
  bridge br0
  vm a { memory 256M  image kernel "k/vmlinuz" initrd "/abs/initrd"  port eth0 { bridge br0 } }
}`;

describe('the plan does not depend on the working directory', () => {
    it('joins image paths onto the file directory it is given, and refuses relative facts instead of resolving them', async () => {
        const r = await checkText(text);
        const topo = topologyOf(r.model!, 't.vtopo');
        const plan = compilePlan(topo, { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/labs/x/t.vtopo', onlineCpus: [0, 1] });
        expect(plan.vms[0].image).toMatchObject({ kind: 'kernel', kernel: '/labs/x/k/vmlinuz', initrd: '/abs/initrd' });
        expect(plan.runDir).toBe('/run/vtopo/t');
        // Before, both were resolved against process.cwd() (a different plan per directory vtopo ran from).
        expect(() => compilePlan(topo, { runRoot: 'run', kvmUsable: false, sourceFile: '/labs/x/t.vtopo' })).toThrow(VtopoError);
        expect(() => compilePlan(topo, { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: 't.vtopo' })).toThrow(VtopoError);
    });
});
