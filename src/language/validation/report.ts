import { GrammarUtils, type AstNode, type DiagnosticData, type Properties, type ValidationAcceptor } from 'langium';
import type { Range } from 'vscode-languageserver-types';
import { lastIndex } from '../props.js';
import { CODES, type Code } from './codes.js';

/** A text edit a quick fix applies; computed by the rule that knows the cure. */
export interface Fix { title: string; range: Range; newText: string }

export interface VtopoDiagnosticData extends DiagnosticData {
    code: Code;
    fixes?: Fix[];
}

export interface ReportOptions<N extends AstNode> {
    property?: Properties<N>;
    index?: number;
    /** An explicit range, when the culprit is a keyword rather than a property. */
    range?: Range;
    fixes?: Fix[];
}

/**
 * Every rule reports through here so code, severity and fix data stay consistent.
 * A one-value property set twice is marked where its value counts: the last line.
 */
export function report<N extends AstNode>(accept: ValidationAcceptor, code: Code, message: string, node: N, opts: ReportOptions<N> = {}): void {
    const data: VtopoDiagnosticData = { code, ...(opts.fixes?.length ? { fixes: opts.fixes } : {}) };
    const index = opts.index ?? (opts.property === undefined ? undefined : lastIndex(node, opts.property));
    accept(CODES[code].severity, message, { node, property: opts.property, index, range: opts.range, code, data });
}

/** Range of a property's text (its value), for fixes that replace it; a repeated one-value property's last one. */
export function rangeOf(node: AstNode, property: string, index?: number): Range | undefined {
    return GrammarUtils.findNodeForProperty(node.$cstNode, property, index ?? lastIndex(node, property))?.range;
}

/** A fix replacing a property's value; undefined when the property has no text. */
export function replaceFix(node: AstNode, property: string, newText: string, title: string): Fix[] | undefined {
    const range = rangeOf(node, property);
    return range ? [{ title, range, newText }] : undefined;
}

/** `vm web` / `port web.eth0` — how messages name things. */
export function describe(node: AstNode & { name?: string; $container?: AstNode }): string {
    switch (node.$type) {
        case 'Port': return `port ${(node.$container as { name?: string }).name}.${node.name}`;
        case 'Vm': return `vm ${node.name}`;
        case 'Nic': return `nic ${node.name}`;
        case 'Bridge': return `bridge ${node.name}`;
        case 'Topology': return `topology ${node.name}`;
        case 'Host': return node.name ? `host ${node.name}` : 'the host block';
        case 'Router': return `router ${node.name}`;
        case 'Fabric': return 'the fabric block';
        default: return node.$type.toLowerCase();
    }
}

export function lineOf(node: AstNode | undefined): number | undefined {
    const l = node?.$cstNode?.range.start.line;
    return l === undefined ? undefined : l + 1;
}
