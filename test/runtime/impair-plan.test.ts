/**
 * A changed impairment is applied in place: reconcile emits one set-impair
 * (no port re-created, no guest restarted) for a port or a link, plan text
 * marks it `~`; verify's expectations are measured through the VM layer and
 * a failed one fails verify and becomes a diagnostic on its line.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/core/plan.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { formatActions } from '../../src/runtime/actions.js';
import { formatVerify, verifyPassed } from '../../src/runtime/format.js';
import { reconcile, type LiveView } from '../../src/runtime/reconcile.js';
import { verifyPlan } from '../../src/runtime/verify.js';
import type { RuntimeDeps } from '../../src/runtime/deps.js';
import { expectationDiagnostics } from '../../server/live/diagnostics.js';

const text = (portA: string, link = '', expects = '') => `topology t {
  host { cores 0-1  memory 4G }
  bridge br0
  bridge br1
  link br0 br1 ${link}
  vm a { cpus 1  memory 256M  port eth0 { bridge br0  ip 10.0.0.1/24 ${portA} } }
  vm b { cpus 1  memory 256M  port eth0 { bridge br1  ip 10.0.0.2/24 } }
${expects}
}
`;

async function planOf(src: string): Promise<Plan> {
    const r = await checkText(src, 'f.vtopo');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return compilePlan(topologyOf(r.model!, 'f.vtopo'), { runRoot: '/tmp/vtopo-impair-plan', kvmUsable: false, sourceFile: '/tmp/f.vtopo', onlineCpus: [0, 1] });
}

function running(p: Plan): LiveView {
    return {
        datapaths: { embedded: { running: true, inventory: { bridges: ['br0', 'br1'], links: p.links.map((l) => l.id), vmPorts: ['a.eth0', 'b.eth0'], nics: [] } } },
        vms: { a: 'running', b: 'running' },
    };
}

describe('impairment changes in place', () => {
    it('a port impairment added, changed or removed is one set-impair, nothing re-created', async () => {
        const none = await planOf(text(''));
        const delayed = await planOf(text('impair { delay 20ms }'));
        const lossy = await planOf(text('impair { loss 1% }'));
        for (const [from, to, want] of [[none, delayed, { delayUs: 20_000 }], [delayed, lossy, { lossPct: 1 }], [lossy, none, {}]] as const) {
            const actions = reconcile(to, from, running(from));
            expect(actions).toEqual([{ kind: 'set-impair', datapath: 'embedded', target: { port: 'a.eth0' }, impair: want, reason: expect.stringMatching(/^impairment /) }]);
        }
        const t = formatActions(reconcile(delayed, none, running(none)));
        expect(t).toMatch(/~ set-impair\s+port a\.eth0\s+impairment none → delay 20ms/);
        expect(t).toContain('1 to change in place');
        expect(reconcile(delayed, delayed, running(delayed))).toEqual([]);
    });

    it('a link impairment is set in place too', async () => {
        const none = await planOf(text(''));
        const linked = await planOf(text('', '{ impair { delay 5ms  rate 1gbit } }'));
        expect(reconcile(linked, none, running(none))).toEqual([
            { kind: 'set-impair', datapath: 'embedded', target: { link: 'br0--br1' }, impair: { delayUs: 5000, rateBps: 1e9 }, reason: expect.any(String) },
        ]);
    });
});

describe('expectations in verify', () => {
    it('measures each, fails verify on one false, and makes it a diagnostic on its line', async () => {
        const plan = await planOf(text('', '', '  expect a reaches b\n  expect rtt a b < 5ms'));
        const calls: string[] = [];
        const deps = {
            vms: {
                ping: async (vm: { name: string }, addr: string) => { calls.push(`ping ${vm.name} ${addr}`); return { ok: true, rtt_ms: 0.4 }; },
                pingStats: async () => ({ ok: true, sent: 10, received: 10, median_ms: 21.5 }),
            },
        } as unknown as RuntimeDeps;
        const r = await verifyPlan(plan, deps, () => undefined);
        expect(r.expectations!.map((e) => [e.line, e.kind, e.ok, e.measured])).toEqual([
            [8, 'reaches', true, 'replied in 0.4ms'],
            [9, 'rtt', false, '21.5ms median of 10/10'],
        ]);
        expect(verifyPassed(r)).toBe(false);
        expect(formatVerify(r)).toMatch(/line 9: expect rtt a b < 5ms\s+21\.5ms median of 10\/10\s+FAIL/);
        const d = expectationDiagnostics(r);
        expect(d).toHaveLength(1);
        expect(d[0].range.start.line).toBe(8);
        expect(d[0].message).toContain('expect rtt a b < 5ms does not hold: measured 21.5ms');
    });
});
