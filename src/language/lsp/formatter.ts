import { AstUtils, type AstNode, type CstNode, type LangiumDocument } from 'langium';
import type { Range } from 'vscode-languageserver-types';
import { AbstractFormatter, Formatting } from 'langium/lsp';
import { ownLeaves, propertyKeywordLeaves } from '../syntax.js';

/**
 * Two-space indented blocks, one property per line, single spaces between
 * tokens. A block written on one line (`port eth0 { bridge br0 ip … }`)
 * stays on one line: short ports read better that way.
 */
export class VtopoFormatter extends AbstractFormatter {
    /**
     * Langium compares chevrotain's 1-based error lines with the 0-based LSP
     * range, so formatting a range that ends on an error's line deleted the
     * tokens error recovery had skipped (fuzz finding). Lines here are 0-based;
     * an error without a line refuses the range.
     */
    protected override isFormatRangeErrorFree(document: LangiumDocument, range: Range): boolean {
        const pr = document.parseResult;
        const lines = [...pr.lexerErrors.map((e) => e.line), ...pr.parserErrors.map((e) => e.token.startLine)];
        if (lines.length === 0) return true;
        const first = Math.min(...lines.map((l) => (l === undefined || Number.isNaN(l) ? 0 : l - 1)));
        return first > range.end.line;
    }

    protected format(node: AstNode): void {
        const f = this.getNodeFormatter(node);
        const cst = node.$cstNode;
        if (!cst) return;
        if (node.$type === 'Model') {
            const topologies = (node as AstNode & { topologies: AstNode[] }).topologies;
            if (topologies.length > 1) f.nodes(...topologies.slice(1)).prepend(Formatting.newLines(2, { allowMore: true }));
            return;
        }
        const own = ownLeaves(node);
        const open = own.find((l) => l.text === '{');
        const close = [...own].reverse().find((l) => l.text === '}');
        const lineStarts = new Set<CstNode>();
        const multiLine = open && close && (node.$type === 'Topology' || open.range.start.line !== close.range.start.line);
        if (multiLine) {
            // Each property keyword starts a line.
            for (const l of propertyKeywordLeaves(node)) lineStarts.add(l);
            // Elements of a topology and ports of a VM each start a line.
            for (const child of childBlocks(node)) if (child.$cstNode) lineStarts.add(child.$cstNode);
        }
        for (const l of own) {
            if (l === own[0]) continue; // the parent decides where a block starts
            if (lineStarts.has(l)) f.cst([l]).prepend(Formatting.indent({ allowMore: true }));
            else if (l === close && multiLine) f.cst([l]).prepend(Formatting.newLine({ allowMore: true }));
            else f.cst([l]).prepend(Formatting.oneSpace());
        }
        // A comment on its own line is indented like the properties around it.
        if (multiLine) {
            for (const c of ownLeaves(node, { comments: true })) if (c.hidden) f.cst([c]).prepend(Formatting.indent({ allowMore: true }));
        }
        for (const child of childNodes(node)) {
            const c = child.$cstNode;
            if (!c) continue;
            if (lineStarts.has(c)) f.cst([c]).prepend(Formatting.indent({ allowMore: true }));
            else f.cst([c]).prepend(Formatting.oneSpace());
        }
    }
}

/** Blocks nested in this node: a topology's elements, a VM's ports, a NIC's driver or a VM's image. */
function childNodes(node: AstNode): AstNode[] {
    return AstUtils.streamContents(node).toArray();
}

function childBlocks(node: AstNode): AstNode[] {
    return childNodes(node).filter((c) => ['Host', 'Fabric', 'Router', 'RouterPort', 'Route', 'Nic', 'Bridge', 'Link', 'Vm', 'Port'].includes(c.$type));
}
