import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Bridge, Topology } from '../../src/language/generated/ast.js';
import { checkText } from '../../src/language/load.js';
import { prop } from '../../src/language/props.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';

const text = `topology t {
  host { cores 0-1  memory 4G }
  bridge br0 {
    mtu 1500
    mtu 9000
  }
  vm a {
    memory 256M
    port eth0 { bridge br0  mtu 2000  mtu 70000 }
  }
}`;

describe('a property set twice in one block', () => {
    it('gets property-duplicate on the repeating line, and checks of the value point at the last one', async () => {
        const r = await checkText(text);
        const dup = r.diagnostics.filter((d) => d.code === 'property-duplicate').map((d) => [d.line, d.message]);
        expect(dup).toEqual([
            [5, expect.stringContaining('`mtu` is set twice in bridge br0 (first on line 4)')],
            [9, expect.stringContaining('`mtu` is set twice in port a.eth0 (first on line 9)')],
        ]);
        // 70000 (the value that counts) is out of range; 2000 is not: the error is on the last `mtu` of line 9.
        const range = r.diagnostics.filter((d) => d.code === 'mtu-out-of-range');
        expect(range.map((d) => [d.line, d.column])).toEqual([[9, text.split('\n')[8].indexOf('70000') + 1]]);
    });

    it('keeps every value in the AST; the last one counts for the checker and the plan', async () => {
        const r = await checkText(text.replace('mtu 2000  mtu 70000', 'mtu 2000'));
        const topo = r.model!.topologies[0] as Topology;
        const br = topo.elements.find((e): e is Bridge => e.$type === 'Bridge')!;
        expect(br.mtu).toEqual([1500, 9000]);
        expect(prop(br, 'mtu')).toBe(9000);
        const plan = compilePlan(topologyOf(r.model!, '/src/t.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/t.vtopo', onlineCpus: [0, 1] });
        expect(plan.bridges.map((b) => b.mtu)).toEqual([9000]);
    });
});

describe('the grammar', () => {
    it('generates without a warning', () => {
        const r = spawnSync('npx', ['langium', 'generate'], { encoding: 'utf8' });
        const out = `${r.stdout}${r.stderr}`;
        expect(r.status, out).toBe(0);
        expect(out).not.toMatch(/warning|Found multiple assignments/i);
        expect(out).toMatch(/finished successfully/);
    }, 120_000);
});
