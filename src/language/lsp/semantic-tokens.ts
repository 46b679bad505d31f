import type { AstNode } from 'langium';
import { AbstractSemanticTokenProvider, type SemanticTokenAcceptor } from 'langium/lsp';
import { SemanticTokenTypes } from 'vscode-languageserver';

const DECLARATION_TYPE: Record<string, string> = {
    Topology: SemanticTokenTypes.namespace,
    Bridge: SemanticTokenTypes.struct,
    Nic: SemanticTokenTypes.interface,
    Vm: SemanticTokenTypes.class,
    Port: SemanticTokenTypes.property,
};

const NUMBER_PROPS = new Set(['cores', 'memory', 'pollCores', 'queues', 'mtu', 'cpus', 'pin', 'count', 'pageSize', 'total', 'mac', 'ip']);
const ENUM_PROPS = new Set(['datapath', 'accel', 'vhost', 'mrgRxbuf', 'rss', 'kind', 'ring']);
const STRING_PROPS = new Set(['iface', 'address', 'kernel', 'initrd', 'append', 'path']);

/** Names, references and literals by role, so themes tell a VM from a bridge and a value from a keyword. */
export class VtopoSemanticTokenProvider extends AbstractSemanticTokenProvider {
    protected highlightElement(node: AstNode, acceptor: SemanticTokenAcceptor): void {
        const declType = DECLARATION_TYPE[node.$type];
        if (declType && 'name' in node) acceptor({ node, property: 'name', type: declType, modifier: 'declaration' });
        const record = node as unknown as Record<string, unknown>;
        for (const [prop, value] of Object.entries(record)) {
            if (prop.startsWith('$') || value === undefined) continue;
            if (prop === 'bridge' || prop === 'a' || prop === 'b') {
                acceptor({ node, property: prop, type: SemanticTokenTypes.struct });
            } else if (NUMBER_PROPS.has(prop)) {
                acceptor({ node, property: prop, type: SemanticTokenTypes.number });
            } else if (ENUM_PROPS.has(prop)) {
                const count = Array.isArray(value) ? value.length : 1;
                for (let i = 0; i < count; i++) acceptor({ node, property: prop, index: Array.isArray(value) ? i : undefined, type: SemanticTokenTypes.enumMember });
            } else if (STRING_PROPS.has(prop)) {
                acceptor({ node, property: prop, type: SemanticTokenTypes.string });
            }
        }
    }
}
