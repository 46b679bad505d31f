/**
 * The static shape of each topology in a document (hosts, bridges, NICs,
 * routers, VMs, ports, links) with the range that declares each one. The tree view, the
 * graph and the live diagnostics all anchor runtime facts on these ranges.
 */
import { GrammarUtils, type AstNode } from 'langium';
import type { Model, Topology } from '../../src/language/generated/ast.js';
import { bridgeDatapath, DEFAULTS } from '../../src/language/defaults.js';
import type { ModelBridge, ModelHost, ModelLink, ModelNic, ModelRouter, ModelVm, Range, TopologyModel } from '../../src/core/lsp-protocol.js';
import { prop } from '../../src/language/props.js';

const ZERO: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** The range of a node's name when it has one, else of the whole node. */
export function nameRange(node: AstNode): Range {
    const cst = node.$cstNode;
    if (!cst) return ZERO;
    const name = GrammarUtils.findNodeForProperty(cst, 'name');
    return (name ?? cst).range;
}

export function linkId(a: string, b: string): string {
    return [a, b].sort().join('--');
}

export function topologyModel(topology: Topology, uri: string, file: string): TopologyModel {
    const bridges: ModelBridge[] = [];
    const nics: ModelNic[] = [];
    const vms: ModelVm[] = [];
    const links: ModelLink[] = [];
    const hosts: ModelHost[] = [];
    const routers: ModelRouter[] = [];
    for (const el of topology.elements) {
        switch (el.$type) {
            case 'Bridge':
                if (el.name) bridges.push({ uri, range: nameRange(el), name: el.name, datapath: bridgeDatapath(el) });
                break;
            case 'Nic':
                if (el.name) nics.push({ uri, range: nameRange(el), name: el.name, bridge: prop(el, 'bridge')?.$refText, driver: prop(el, 'driver')?.kind, queues: prop(el, 'queues') ?? DEFAULTS.nicQueues });
                break;
            case 'Link': {
                const a = el.a?.$refText, b = el.b?.$refText;
                if (a && b) links.push({ uri, range: el.$cstNode?.range ?? ZERO, id: linkId(a, b), a, b });
                break;
            }
            case 'Host':
                if (el.name) {
                    const ssh = prop(el, 'ssh');
                    hosts.push({ uri, range: nameRange(el), name: el.name, kind: ssh !== undefined ? 'ssh' : el.netns.length ? 'netns' : 'local', underlay: prop(el, 'underlay'), ssh });
                }
                break;
            case 'Router':
                if (el.name) routers.push({ uri, range: nameRange(el), name: el.name, ports: el.ports.filter((p) => p.bridge?.$refText).map((p) => ({ bridge: p.bridge.$refText, network: p.network })) });
                break;
            case 'Vm':
                if (!el.name) break;
                vms.push({
                    uri, range: nameRange(el), name: el.name, cpus: prop(el, 'cpus') ?? DEFAULTS.vmCpus, host: prop(el, 'host')?.$refText,
                    ports: el.ports.filter((p) => p.name).map((p) => ({
                        uri, range: nameRange(p), id: `${el.name}.${p.name}`, vm: el.name, name: p.name,
                        bridge: prop(p, 'bridge')?.$refText, queues: prop(p, 'queues') ?? DEFAULTS.portQueues,
                    })),
                });
                break;
            default:
                break;
        }
    }
    return { uri, file, range: nameRange(topology), name: topology.name, bridges, nics, vms, links, hosts, routers };
}

export function documentModels(model: Model | undefined, uri: string, file: string): TopologyModel[] {
    return (model?.topologies ?? []).filter((t) => t.name).map((t) => topologyModel(t, uri, file));
}
