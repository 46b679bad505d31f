import type { ValidationAcceptor, ValidationChecks } from 'langium';
import { impairmentProblem } from '../../core/impair.js';
import { isTopology, type Expect, type Impairment, type Link, type Port, type VtopoAstType } from '../generated/ast.js';
import { bridgeDatapath } from '../defaults.js';
import { IMPAIR_WORDS, readExpectation, readImpairment, type ImpairWord } from '../impairment.js';
import { networkOf, parseCidr } from '../units.js';
import { prop } from '../props.js';
import { describe, lineOf, report } from './report.js';
import { indexTopology } from './topology-index.js';

const WORD_OF_KEY = Object.fromEntries(Object.entries(IMPAIR_WORDS).map(([w, { key }]) => [key, w])) as Record<string, ImpairWord>;

/** Values, the keys they need, and what an OvS bridge cannot do, each on its word. */
function checkImpairment(accept: ValidationAcceptor, owner: Port | Link, blocks: Impairment[], ovs: boolean): void {
    for (const extra of blocks.slice(0, -1)) {
        report(accept, 'impair-duplicate', `${what(owner)} has more than one \`impair\` block; only the last would count. Merge them into one.`, extra);
    }
    const read = readImpairment(blocks);
    if (!read) return;
    const block = blocks[blocks.length - 1];
    for (const e of read.errors) report(accept, 'impair-value-invalid', `${e.word}: ${e.message}.`, block, { property: e.word, index: e.index });
    const last = (w: ImpairWord) => ({ property: w, index: Math.max(0, (block[w]?.length ?? 1) - 1) });
    const problem = impairmentProblem(read.plan);
    if (problem) {
        const word = WORD_OF_KEY[problem.key];
        const code = problem.key === 'jitterUs' && read.plan.delayUs ? 'impair-jitter-over-delay' : 'impair-needs-delay';
        report(accept, code, `${problem.message}.`, block, last(word));
    }
    if (!ovs) return;
    if (owner.$type === 'Link') {
        if (Object.keys(read.plan).length) report(accept, 'impair-needs-embedded', 'impairment on a link needs datapath embedded: OvS patch ports have no queueing discipline. Put the bridges on `datapath embedded`, or impair the VM ports instead.', owner, { property: 'impair' });
        return;
    }
    for (const w of Object.keys(IMPAIR_WORDS) as ImpairWord[]) {
        if (w === 'rate' || !block[w]?.length) continue;
        report(accept, 'impair-needs-embedded', `${w} needs datapath embedded: OvS-DPDK has no delay line, it only polices a rate. Remove it, or put bridge ${prop(owner, 'bridge')?.ref?.name ?? ''} on \`datapath embedded\`.`, block, last(w));
    }
}

function what(n: Port | Link): string {
    return n.$type === 'Link' ? `link ${n.a?.$refText} ${n.b?.$refText}` : describe(n);
}

function checkExpect(e: Expect, accept: ValidationAcceptor): void {
    const line = lineOf(e) ?? 0;
    const r = readExpectation(e, line);
    if (r.error) report(accept, 'expect-invalid', `${r.error}.`, e, { property: e.limit === undefined ? 'op' : 'limit' });
    const a = e.from?.ref;
    const b = e.to?.ref;
    if (!a || !b) return; // unknown names: the linker's error
    if (a === b) {
        report(accept, 'expect-self', `\`expect\` names vm ${a.name} twice; name two different VMs.`, e, { property: 'to' });
        return;
    }
    // reaches/rtt/throughput ping or connect to b's address; isolated pings both ways.
    const needs = e.kind === 'isolated' ? [a, b] : [b];
    for (const vm of needs) {
        if (!vm.ports.some((p) => prop(p, 'ip'))) report(accept, 'expect-no-address', `vm ${vm.name} has no port with an \`ip\`, so verify cannot reach it; give one of its ports an address.`, e, { property: vm === b ? 'to' : 'from' });
    }
    if (e.kind !== 'isolated') return;
    const topo = e.$container;
    if (!isTopology(topo)) return;
    const idx = indexTopology(topo);
    for (const pa of a.ports) {
        for (const pb of b.ports) {
            const ba = prop(pa, 'bridge')?.ref;
            const bb = prop(pb, 'bridge')?.ref;
            if (!ba || !bb || idx.segmentOf.get(ba) !== idx.segmentOf.get(bb)) continue;
            const ipa = prop(pa, 'ip');
            const ipb = prop(pb, 'ip');
            const ca = ipa ? parseCidr(ipa) : undefined;
            const cb = ipb ? parseCidr(ipb) : undefined;
            if (ca && cb && (ca.prefix !== cb.prefix || networkOf(ca) !== networkOf(cb))) continue;
            report(accept, 'expect-contradicts-topology',
                `vm ${a.name} and vm ${b.name} share an L2 segment (${describe(pa)} on bridge ${ba.name}, ${describe(pb)} on bridge ${bb.name})${ca && cb ? ' in one subnet' : ''}, so they will reach each other; ` +
                'move one to another bridge or subnet, or expect `reaches`.', e, { property: 'kind' });
            return;
        }
    }
}

export const impairmentChecks: ValidationChecks<VtopoAstType> = {
    Port(port: Port, accept) {
        if (port.impair?.length) checkImpairment(accept, port, port.impair, bridgeDatapath(prop(port, 'bridge')?.ref) === 'ovs');
    },
    Link(link: Link, accept) {
        if (link.impair?.length) checkImpairment(accept, link, link.impair, bridgeDatapath(link.a?.ref) === 'ovs' || bridgeDatapath(link.b?.ref) === 'ovs');
    },
    Expect: checkExpect,
};
