import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import type { HostFacts, Plan } from '../../src/core/plan.js';

export async function planFromText(text: string, over: Partial<HostFacts> = {}): Promise<Plan> {
    const r = await checkText(text, 't.vtopo');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(JSON.stringify(errors));
    return compilePlan(topologyOf(r.model!, 't.vtopo'), {
        runRoot: '/tmp/vt-test', kvmUsable: false, sourceFile: '/src/t.vtopo', onlineCpus: [0, 1], ...over,
    });
}

export const TWO = (extra = '', aQueues = 1, aCpus = 1) => `topology t {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge br0
  bridge br1
  vm a { cpus ${aCpus}  port eth0 { bridge br0  queues ${aQueues}  ip 10.0.0.1/24 } }
  vm b { port eth0 { bridge br0  ip 10.0.0.2/24 } }
  ${extra}
}`;
