/**
 * The logical topology of a plan across hosts (plan.fabric) as a runnable
 * ovn-nbctl script: the same OVN_Northbound rows the OVN backend's ensureNb
 * writes (switches, their VM ports with addresses and port security,
 * routers, router ports, the router-type switch ports, static routes), each
 * marked external_ids:vtopo-topology. Every command is a `--may-exist` form,
 * so a second run changes nothing.
 */
import { L3_KEY, l3KeyOf, routerSwitchPort, TOPOLOGY_KEY, type FabricPlan } from '../../core/fabric.js';
import type { Plan } from '../../core/plan.js';
import { mapWords, oneLine, shq } from './shell.js';

export function exportOvnNbctl(plan: Plan, f: FabricPlan): string {
    const t = plan.topology;
    const mark = { [TOPOLOGY_KEY]: t };
    const out: string[] = [
        '#!/bin/sh',
        `# vtopo export --format ovn-nbctl: the logical topology of ${oneLine(t)} in OVN_Northbound.`,
        `# vtopo deploy writes the same rows (${f.central.kind === 'private' ? `its private central on host ${oneLine(f.central.host)}` : `the existing OVN at ${oneLine(f.central.nb)}`}).`,
        '# Runs against ovn-nbctl\'s default Northbound; point it elsewhere with',
        '#   NBCTL="ovn-nbctl --db=unix:/path/to/nb.sock" sh this-script',
        '# Running it again changes nothing.',
        'set -eu',
        'NBCTL=${NBCTL:-ovn-nbctl}',
    ];
    const sh = (...words: string[]) => out.push(['$NBCTL', ...words.map(shq)].join(' '));
    for (const sw of f.switches) {
        // OVN has no MTU per switch: recorded as ensureNb records it, for status.
        out.push('', `# switch ${oneLine(sw.name)} (MTU ${sw.mtu})`);
        sh('--may-exist', 'ls-add', sw.name, '--', 'set', 'Logical_Switch', sw.name, ...mapWords('external_ids', { ...mark, 'vtopo-mtu': String(sw.mtu), [L3_KEY]: l3KeyOf(f, sw.name) }));
        for (const p of sw.ports) {
            sh('--may-exist', 'lsp-add', sw.name, p.name, '--', 'lsp-set-addresses', p.name, p.addresses, '--', 'lsp-set-port-security', p.name, p.addresses,
                '--', 'set', 'Logical_Switch_Port', p.name, ...mapWords('external_ids', { ...mark, 'vtopo-vm': p.vm, 'vtopo-host': p.host }));
        }
    }
    for (const r of f.routers) {
        out.push('', `# router ${oneLine(r.name)}`);
        sh('--may-exist', 'lr-add', r.name, '--', 'set', 'Logical_Router', r.name, ...mapWords('external_ids', mark));
        for (const p of r.ports) {
            sh('--may-exist', 'lrp-add', r.name, p.name, p.mac, p.network, '--', 'set', 'Logical_Router_Port', p.name, ...mapWords('external_ids', mark));
            const lsp = routerSwitchPort(r.name, p);
            sh('--may-exist', 'lsp-add', p.switch, lsp, '--', 'lsp-set-type', lsp, 'router', '--', 'lsp-set-addresses', lsp, 'router',
                '--', 'set', 'Logical_Switch_Port', lsp, ...mapWords('options', { 'router-port': p.name }), ...mapWords('external_ids', mark));
        }
        for (const rt of r.routes) sh('--may-exist', 'lr-route-add', r.name, rt.prefix, rt.nexthop);
        if (r.routes.length) {
            // A route has no name to set it by: mark each of the router's routes (the router is this topology's).
            out.push(`for route in $($NBCTL --bare --columns=static_routes list Logical_Router ${shq(r.name)}); do`);
            out.push(`    $NBCTL set Logical_Router_Static_Route "$route" ${mapWords('external_ids', mark).map(shq).join(' ')}`);
            out.push('done');
        }
    }
    out.push('');
    return out.join('\n');
}
