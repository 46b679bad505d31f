import type { AstNode, LangiumDocument } from 'langium';
import { DefaultDocumentSymbolProvider, DefaultNodeKindProvider } from 'langium/lsp';
import { CompletionItemKind, SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { Bridge, Host, Link, Nic, Port, Vm } from '../generated/ast.js';
import { bridgeDatapath, nicQueues, portQueues, vmCpus, vmMemory } from '../defaults.js';
import { formatSize } from '../units.js';
import { prop } from '../props.js';

const SYMBOL_KIND: Record<string, SymbolKind> = {
    Topology: SymbolKind.Namespace,
    Host: SymbolKind.Module,
    Nic: SymbolKind.Interface,
    Bridge: SymbolKind.Struct,
    Link: SymbolKind.Event,
    Vm: SymbolKind.Class,
    Port: SymbolKind.Field,
};

const COMPLETION_KIND: Record<string, CompletionItemKind> = {
    Topology: CompletionItemKind.Module,
    Nic: CompletionItemKind.Interface,
    Bridge: CompletionItemKind.Struct,
    Vm: CompletionItemKind.Class,
    Port: CompletionItemKind.Field,
};

export class VtopoNodeKindProvider extends DefaultNodeKindProvider {
    override getSymbolKind(node: AstNode): SymbolKind {
        return SYMBOL_KIND[node.$type] ?? SymbolKind.Field;
    }
    override getCompletionItemKind(node: AstNode): CompletionItemKind {
        return COMPLETION_KIND[node.$type] ?? CompletionItemKind.Reference;
    }
}

/**
 * Outline: topologies with their host, NICs, bridges, links and VMs (VMs with
 * their ports). The unnamed host and links get a synthetic name, and every
 * symbol a short detail (`2 vCPU, 256M`, `embedded`, …).
 */
export class VtopoDocumentSymbolProvider extends DefaultDocumentSymbolProvider {
    protected override getSymbol(document: LangiumDocument, node: AstNode): DocumentSymbol[] {
        const cst = node.$cstNode;
        if (cst && (node.$type === 'Host' || node.$type === 'Link')) {
            const name = node.$type === 'Host' ? ((node as Host).name ? `host ${(node as Host).name}` : 'host') : `link ${(node as Link).a?.$refText ?? '?'} ${(node as Link).b?.$refText ?? '?'}`;
            return [{ name, kind: this.nodeKindProvider.getSymbolKind(node), range: cst.range, selectionRange: cst.range, detail: detailOf(node) }];
        }
        const symbols = super.getSymbol(document, node);
        for (const s of symbols) if (node.$cstNode && s.range === node.$cstNode.range) s.detail = detailOf(node);
        return symbols;
    }
}

function detailOf(node: AstNode): string | undefined {
    switch (node.$type) {
        case 'Host': {
            const h = node as Host;
            const cores = prop(h, 'cores'), memory = prop(h, 'memory');
            return [cores !== undefined && `cores ${cores}`, memory !== undefined && formatSize(memory)].filter(Boolean).join(', ') || undefined;
        }
        case 'Vm': {
            const vm = node as Vm;
            return `${vmCpus(vm)} vCPU, ${Number.isFinite(vmMemory(vm)) ? formatSize(vmMemory(vm)) : '?'}`;
        }
        case 'Port': {
            const p = node as Port;
            return [prop(p, 'bridge')?.$refText, portQueues(p) > 1 && `${portQueues(p)} queues`, prop(p, 'ip')].filter(Boolean).join(', ') || undefined;
        }
        case 'Nic': {
            const n = node as Nic;
            return [prop(n, 'driver')?.kind, nicQueues(n) > 1 && `${nicQueues(n)} queues`].filter(Boolean).join(', ') || undefined;
        }
        case 'Bridge': return bridgeDatapath(node as Bridge);
        default: return undefined;
    }
}
