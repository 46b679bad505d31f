import {
    AstUtils, CstUtils, DefaultDocumentValidator, type AstNode, type CstNode, DefaultLinker, DocumentValidator, type AstNodeDescription, type LangiumDocument,
    type LinkingError, type ReferenceInfo, type ValidationAcceptor, type ValidationChecks, type ValidationOptions,
} from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import { isTopology, type Host, type Model, type Topology, type Vm, type VtopoAstType } from '../generated/ast.js';
import { BLOCK_PROPERTIES, isBlockType, propertyKeywordLeaves, type BlockType } from '../syntax.js';
import { closest } from './suggest.js';
import { friendlySyntaxMessage } from './syntax-messages.js';
import { invalidateIndex } from './topology-index.js';
import { describe, lineOf, report, type Fix, type VtopoDiagnosticData } from './report.js';

interface SuggestingLinkingError extends LinkingError { suggestion?: string; candidates?: string[] }

/** Unresolved names get a "did you mean" built from what is in scope. */
export class VtopoLinker extends DefaultLinker {
    protected override createLinkingError(refInfo: ReferenceInfo, targetDescription?: AstNodeDescription): LinkingError {
        const base = super.createLinkingError(refInfo, targetDescription);
        const text = refInfo.reference.$refText;
        const kind = this.reflection.getReferenceType(refInfo).toLowerCase();
        const names = this.scopeProvider.getScope(refInfo).getAllElements().map((d) => d.name).distinct().toArray();
        const suggestion = closest(text, names);
        const topo = AstUtils.getContainerOfType(refInfo.container, isTopology);
        const where = topo ? ` in topology ${topo.name}` : '';
        const fix = suggestion
            ? `Did you mean '${suggestion}'?`
            : names.length
                ? `Known ${kind}s: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}; fix the name or declare \`${kind} ${text}\`.`
                : `Declare it with \`${kind} ${text} { … }\`.`;
        const err: SuggestingLinkingError = { ...base, message: `Unknown ${kind} '${text}'${where}. ${fix}`, suggestion };
        return err;
    }
}


/** Gives built-in diagnostics (syntax, linking) our stable codes and the rename fix. */
export class VtopoDocumentValidator extends DefaultDocumentValidator {
    override async validateDocument(document: LangiumDocument, options?: ValidationOptions, cancelToken?: Parameters<DefaultDocumentValidator['validateDocument']>[2]): Promise<Diagnostic[]> {
        invalidateIndex(document.parseResult.value as Model);
        const diags = await super.validateDocument(document, options, cancelToken);
        for (const d of diags) {
            const code = (d.data as { code?: string } | undefined)?.code;
            if (code === DocumentValidator.LexingError || code === DocumentValidator.ParsingError) {
                const unknown = unknownWord(document, d);
                d.message = unknown?.message ?? friendlySyntaxMessage(d.message);
                d.code = 'syntax-error';
                const data: VtopoDiagnosticData = { ...(d.data as object), code: 'syntax-error', ...(unknown?.fixes ? { fixes: unknown.fixes } : {}) };
                d.data = data;
            }
        }
        return diags;
    }

    protected override processLinkingErrors(document: LangiumDocument, diagnostics: Diagnostic[], _options: ValidationOptions): void {
        for (const reference of document.references) {
            const err = reference.error as SuggestingLinkingError | undefined;
            const range = reference.$refNode?.range;
            if (!err) continue;
            const data: VtopoDiagnosticData = {
                code: 'unresolved-reference',
                ...(err.suggestion && range ? { fixes: [{ title: `Change to '${err.suggestion}'`, range, newText: err.suggestion }] } : {}),
            };
            diagnostics.push(this.toDiagnostic('error', err.message, {
                node: err.info.container, range, property: err.info.property, index: err.info.index,
                code: 'unresolved-reference', data,
            }));
        }
    }
}

const TOPOLOGY_KEYWORDS = ['host', 'nic', 'bridge', 'link', 'vm', 'router', 'fabric', 'expect'];

/**
 * `memroy 1G` inside a VM reaches the parser as "expected `}`": say instead
 * which words the block takes, with the closest one as a quick fix.
 */
function unknownWord(document: LangiumDocument, d: Diagnostic): { message: string; fixes?: Fix[] } | undefined {
    const m = /^Expecting token of type '\}' but found `([A-Za-z_][\w-]*)`/.exec(d.message);
    const root = document.parseResult.value.$cstNode;
    if (!m || !root) return undefined;
    const word = m[1];
    const offset = document.textDocument.offsetAt(d.range.start);
    let node: AstNode | undefined = CstUtils.findLeafNodeBeforeOffset(root, offset)?.astNode;
    while (node && !isBlockType(node.$type) && node.$type !== 'Topology') node = node.$container;
    if (!node) return undefined;
    const words = node.$type === 'Topology' ? TOPOLOGY_KEYWORDS
        : [...Object.keys(BLOCK_PROPERTIES[node.$type as BlockType]), ...(node.$type === 'Vm' ? ['port'] : [])];
    const where = node.$type === 'Topology' ? 'a topology' : node.$type === 'Host' ? 'the host block' : `a ${node.$type.toLowerCase()} block`;
    const guess = closest(word, words);
    return {
        message: `\`${word}\` is not something ${where} takes${guess ? `; did you mean \`${guess}\`?` : '.'} It takes: ${words.join(', ')}.`,
        fixes: guess ? [{ title: `Change to '${guess}'`, range: d.range, newText: guess }] : undefined,
    };
}

function duplicates<T extends { name: string }>(items: T[], accept: ValidationAcceptor, scope: string, kindOf: (t: T) => string): void {
    const seen = new Map<string, T>();
    for (const item of items) {
        if (typeof item.name !== 'string' || item.name === '') continue;
        const first = seen.get(item.name);
        if (!first) { seen.set(item.name, item); continue; }
        const firstNode = first as unknown as { $cstNode?: { range: { start: { line: number } } } };
        report(accept, 'duplicate-name',
            `Duplicate name '${item.name}' in ${scope}: ${kindOf(first)} '${item.name}' already uses it (line ${lineOf(firstNode as never)}). ` +
            `Names must be unique here because vtopo derives socket paths, interface names and MACs from them; rename one.`,
            item as never, { property: 'name' as never });
    }
}

/**
 * `memory 1G … memory 2G` in one block: the grammar keeps the last, which is
 * rarely what was meant. (`rss` lines add up, so repeating it is fine.)
 */
function repeatedProperties(node: AstNode, accept: ValidationAcceptor): void {
    const seen = new Map<string, CstNode>();
    for (const leaf of propertyKeywordLeaves(node)) {
        if (leaf.text === 'rss') continue;
        const first = seen.get(leaf.text);
        if (!first) { seen.set(leaf.text, leaf); continue; }
        report(accept, 'property-duplicate',
            `\`${leaf.text}\` is set twice in ${describe(node as never)} (first on line ${first.range.start.line + 1}); only the last value would count. Keep one.`,
            node, { range: leaf.range });
    }
}

export const nameChecks: ValidationChecks<VtopoAstType> = {
    Host: repeatedProperties,
    Fabric: repeatedProperties,
    Nic: repeatedProperties,
    Bridge: repeatedProperties,
    Port: repeatedProperties,
    Impairment: repeatedProperties,
    Model(model: Model, accept) {
        duplicates(model.topologies, accept, 'this file', () => 'topology');
    },
    Topology(topo: Topology, accept) {
        // NICs, bridges and VMs share one namespace: OvS gives each bridge a port
        // of the same name, and tap/socket names come from NIC and VM names.
        const named = topo.elements.filter((e): e is Exclude<typeof e, { $type: 'Host' | 'Link' | 'Expect' | 'Fabric' }> =>
            e.$type !== 'Host' && e.$type !== 'Link' && e.$type !== 'Expect' && e.$type !== 'Fabric');
        duplicates(named, accept, describe(topo), (e) => e.$type.toLowerCase());
        const hosts = topo.elements.filter((e): e is Host => e.$type === 'Host');
        // Host names name network namespaces, chassis and run directories: their own namespace.
        duplicates(hosts.filter((h): h is Host & { name: string } => !!h.name), accept, describe(topo), () => 'host');
        if (hosts.length === 0) {
            report(accept, 'host-missing',
                `${describe(topo)} has no host block, so vtopo cannot check cores, memory or pinning against the machine. ` +
                `Add \`host { cores 0-1  memory 4G }\` describing what vtopo may use.`, topo, { property: 'name' });
        }
        // Several host blocks are several machines, each with its name; an unnamed one is the single host of a one-machine file.
        const unnamed = hosts.filter((h) => !h.name);
        if (unnamed.length && hosts.length > 1) {
            for (const extra of hosts.length === unnamed.length ? hosts.slice(1) : unnamed) {
                report(accept, 'host-duplicate',
                    `${describe(topo)} has more than one host block (first on line ${lineOf(hosts[0])}); merge them into one, ` +
                    `or name each (\`host h1 { … }\`) to place the topology on several hosts joined by a \`fabric\`.`, extra);
            }
        }
    },
    Vm(vm: Vm, accept) {
        repeatedProperties(vm, accept);
        duplicates(vm.ports, accept, describe(vm), () => 'port');
    },
};
