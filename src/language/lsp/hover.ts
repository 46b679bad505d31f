import { CstUtils, GrammarAST, GrammarUtils, type AstNode, type LangiumDocument, type MaybePromise } from 'langium';
import { AstNodeHoverProvider, type LangiumServices } from 'langium/lsp';
import type { Hover, HoverParams } from 'vscode-languageserver';
import { describeDeclaration, resolvedValue } from './describe.js';
import { propertyOfKeyword } from '../syntax.js';
import { keywordDoc, keywordExplaining } from './keyword-docs.js';

/**
 * Extra markdown for a hovered node, appended below the static text: the
 * language server registers one to show live (deployed-state) facts for a
 * Vm or Port. `node` is the declaration under a name or reference, else the
 * node whose keyword or value is hovered. Return undefined to add nothing.
 */
export type HoverAugmenter = (node: AstNode, document: LangiumDocument) => MaybePromise<string | undefined>;

/**
 * Hovers explain every keyword and name in terms of this topology: the
 * concept in a sentence or two, then the value it resolves to here, then
 * whatever registered augmenters add.
 */
export class VtopoHoverProvider extends AstNodeHoverProvider {
    private readonly augmenters = new Set<HoverAugmenter>();

    constructor(services: LangiumServices) {
        super(services);
    }

    /** Adds a hook whose text is appended to hovers; dispose() removes it. */
    addHoverAugmenter(fn: HoverAugmenter): { dispose(): void } {
        this.augmenters.add(fn);
        return { dispose: () => { this.augmenters.delete(fn); } };
    }

    override async getHoverContent(document: LangiumDocument, params: HoverParams): Promise<Hover | undefined> {
        const root = document.parseResult?.value?.$cstNode;
        if (!root) return undefined;
        const offset = document.textDocument.offsetAt(params.position);
        const leaf = CstUtils.findLeafNodeAtOffset(root, offset);
        if (!leaf || offset >= leaf.end || leaf.hidden) return undefined;
        const { parts, subject } = this.staticHover(leaf);
        if (subject) parts.push(...await this.augment(subject, document));
        return parts.length ? { contents: { kind: 'markdown', value: parts.join('\n\n') }, range: leaf.range } : undefined;
    }

    private staticHover(leaf: NonNullable<ReturnType<typeof CstUtils.findLeafNodeAtOffset>>): { parts: string[]; subject?: AstNode } {
        const parts: string[] = [];
        const source = leaf.grammarSource;
        const node = leaf.astNode;
        const assignment = GrammarUtils.findAssignment(leaf);
        const isReference = !!assignment && GrammarAST.isCrossReference(assignment.terminal);
        if (assignment?.feature === 'name' || isReference) {
            let subject: AstNode | undefined;
            for (const target of this.references.findDeclarations(leaf)) {
                const text = describeDeclaration(target);
                if (text) parts.push(text);
                subject ??= target;
            }
            if (isReference && !subject) parts.push(`\`${leaf.text}\` does not name anything in this topology.`);
            // A keyword used as a name (`vm server`) is a name here, not a keyword.
            return { parts, subject };
        }
        const owner = node.$type === 'Hugepages' ? 'Host' : node.$type;
        // `queues`, `memory` … introduce a property; value words (`embedded`, `client`) belong to one.
        const kw = source && GrammarAST.isKeyword(source) ? source.value : assignment ? keywordExplaining(assignment.feature) : undefined;
        if (!kw) return { parts };
        const doc = keywordDoc(owner, kw);
        if (!doc) return { parts };
        parts.push(`**${kw}** — ${doc}`);
        // The keyword that opens a block (`vm`, `bridge br0`, `link`) shows what the block amounts to.
        const value = ELEMENT_KEYWORD[node.$type] === kw ? describeDeclaration(node)
            : resolvedValue(node, assignment?.feature ?? propertyIntroducedBy(node, kw) ?? '');
        if (value) parts.push(`*Here:* ${value}`);
        return { parts, subject: node };
    }

    private async augment(subject: AstNode, document: LangiumDocument): Promise<string[]> {
        const out: string[] = [];
        for (const fn of this.augmenters) {
            try {
                const extra = await fn(subject, document);
                if (extra) out.push(extra);
            } catch {
                // A failing augmenter must not take the static hover down with it.
            }
        }
        return out;
    }

    protected override getAstNodeHoverContent(node: AstNode): MaybePromise<string | undefined> {
        return describeDeclaration(node);
    }
}

const ELEMENT_KEYWORD: Record<string, string> = {
    Topology: 'topology', Host: 'host', Nic: 'nic', Bridge: 'bridge', Link: 'link', Vm: 'vm', Port: 'port',
};

function propertyIntroducedBy(node: AstNode, keyword: string): string | undefined {
    if (node.$type === 'Hugepages') return 'hugepages';
    return propertyOfKeyword(node.$type, keyword);
}
