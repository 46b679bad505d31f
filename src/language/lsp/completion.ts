import { AstUtils, GrammarAST, type AstNode, type MaybePromise } from 'langium';
import { DefaultCompletionProvider, type CompletionAcceptor, type CompletionContext, type NextFeature } from 'langium/lsp';
import { CompletionItemKind, InsertTextFormat } from 'vscode-languageserver';
import type { Nic } from '../generated/ast.js';
import { isBlockType, propertyOfKeyword } from '../syntax.js';
import { keywordDoc } from './keyword-docs.js';

/** Datatype rules whose keywords are values of a property (shown as enum members). */
const ENUM_RULES = new Set(['RssField', 'Datapath', 'Accel', 'VhostMode', 'OnOff']);
/** Parser rules whose `kind='…'` keyword is a value (driver and image kinds). */
const KIND_RULES = new Set(['TapDriver', 'AfPacketDriver', 'PciDriver', 'DefaultImage', 'KernelImage', 'DiskImage']);

/**
 * Value snippets for literal-valued properties: the grammar cannot guess a
 * size or an address, so completion offers a typical one to overwrite.
 */
const VALUE_SNIPPETS: Record<string, string[]> = {
    SIZE: ['256M', '512M', '1G', '4G'],
    CIDR: ['10.0.0.1/24'],
    MAC: ['52:54:00:00:00:01'],
    STRING: ['"eth1"'],
};

/**
 * Completion: keywords (with their one-line meaning), references to bridges
 * in scope, and enum values. Keywords that only appear in a name position
 * (`Name` accepts value words so `vm server` works) are not offered where a
 * new name is typed, and properties a block already sets are not offered again.
 */
export class VtopoCompletionProvider extends DefaultCompletionProvider {
    protected override completionFor(context: CompletionContext, next: NextFeature, acceptor: CompletionAcceptor): MaybePromise<void> {
        const rule = GrammarAST.isAbstractElement(next.feature) ? ruleOf(next.feature) : undefined;
        if (GrammarAST.isRuleCall(next.feature) && next.feature.rule.ref && GrammarAST.isTerminalRule(next.feature.rule.ref)) {
            for (const value of VALUE_SNIPPETS[next.feature.rule.ref.name] ?? []) {
                acceptor(context, { label: value, kind: CompletionItemKind.Value, detail: `example ${next.feature.rule.ref.name.toLowerCase()}`, sortText: '2' });
            }
            return;
        }
        if (rule?.name === 'Name' || rule?.name === 'CoreList') return;
        return super.completionFor(context, next, acceptor);
    }

    protected override completionForKeyword(context: CompletionContext, keyword: GrammarAST.Keyword, acceptor: CompletionAcceptor): MaybePromise<void> {
        if (!this.filterKeyword(context, keyword)) return;
        const rule = ruleOf(keyword);
        const isValue = !!rule && (ENUM_RULES.has(rule.name) || KIND_RULES.has(rule.name));
        const block = rule && isBlockType(rule.name) ? enclosing(context.node, rule.name) : undefined;
        if (block && alreadySet(block, keyword.value)) return;
        if (rule?.name === 'RssField' && (enclosing(context.node, 'Nic') as Nic | undefined)?.rss.includes(keyword.value as Nic['rss'][number])) return;
        const doc = keywordDoc(rule && isBlockType(rule.name) ? rule.name : '', keyword.value);
        acceptor(context, {
            label: keyword.value,
            kind: isValue ? CompletionItemKind.EnumMember : CompletionItemKind.Keyword,
            detail: isValue ? `${rule!.name} value` : 'keyword',
            documentation: doc ? { kind: 'markdown', value: doc } : undefined,
            sortText: isValue ? '0' : '1',
            ...(snippetFor(keyword.value) ? { insertText: snippetFor(keyword.value), insertTextFormat: InsertTextFormat.Snippet } : {}),
        });
    }
}

/** Block keywords expand to a skeleton the user tabs through. */
function snippetFor(keyword: string): string | undefined {
    switch (keyword) {
        case 'topology': return 'topology ${1:lab} {\n\t$0\n}';
        case 'host': return 'host {\n\tcores ${1:0-1}\n\tmemory ${2:4G}\n}';
        case 'vm': return 'vm ${1:name} {\n\tcpus ${2:1}\n\tmemory ${3:256M}\n\tport ${4:eth0} { bridge ${5:br0} }\n}';
        case 'nic': return 'nic ${1:uplink} {\n\tdriver ${2:tap}\n\tbridge ${3:br0}\n}';
        default: return undefined;
    }
}

function ruleOf(el: AstNode): GrammarAST.ParserRule | undefined {
    return AstUtils.getContainerOfType(el, GrammarAST.isParserRule);
}

/** The block of the given type the cursor is in, if it exists yet. */
function enclosing(node: AstNode | undefined, type: string): AstNode | undefined {
    return node && AstUtils.getContainerOfType(node, (n): n is AstNode => n.$type === type);
}

/** True when the keyword introduces a property this block already has. */
function alreadySet(node: AstNode, keyword: string): boolean {
    const prop = propertyOfKeyword(node.$type, keyword);
    if (!prop) return false;
    const value = (node as unknown as Record<string, unknown>)[prop];
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
}
