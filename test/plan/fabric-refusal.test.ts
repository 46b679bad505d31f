/**
 * Until the plan joins hosts (issue 20), a topology across hosts is refused by
 * the plan stage with one message naming why and what to do, instead of being
 * planned as if every VM ran on this machine.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VtopoError } from '../../src/core/api.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';

const facts = { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/labs/f.vtopo', onlineCpus: [0, 1] };

async function plan(text: string) {
    const r = await checkText(text);
    return () => compilePlan(topologyOf(r.model!, 'f.vtopo'), facts);
}

describe('a topology across hosts', () => {
    it('is refused by the plan, naming what makes it multi-host and the way out', async () => {
        const run = await plan(readFileSync('test/fixtures/lsp-coverage-fabric.vtopo', 'utf8'));
        expect(run).toThrow(VtopoError);
        expect(run).toThrow(/spans several hosts \(it has a fabric block\)/);
        try { run(); } catch (e) { expect((e as VtopoError).fix).toContain('unnamed `host { … }`'); }
    });

    it('named hosts alone are enough to refuse; an unnamed host block plans as before', async () => {
        const two = await plan('topology t {\n  host h1 { cores 0-1  memory 4G }\n  bridge br0\n  vm a { memory 256M  host h1  port eth0 { bridge br0 } }\n}\n');
        expect(two).toThrow(/named hosts \(h1\)/);
        const one = await plan('topology t {\n  host { cores 0-1  memory 4G }\n  bridge br0\n  vm a { memory 256M  port eth0 { bridge br0 } }\n}\n');
        expect(one().vms.map((v) => v.name)).toEqual(['a']);
    });
});
