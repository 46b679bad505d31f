/**
 * The lexer and parser with fewer small objects per token and CST leaf.
 *
 * A 1,000-VM topology re-parses into ~18,000 leaves on every edit, and the
 * document lives across several scavenges, so all of it is promoted to the
 * old generation; the major GC that then has to mark it was the slowest
 * edit. Two things multiplied the object count:
 *
 * - Chevrotain builds tokens as object literals, and its EOF and recovery
 *   tokens are literals of the same shape holding NaN. V8 then keeps the six
 *   position fields of every token as doubles, each a separate heap number;
 *   the ranges Langium derives from them inherit the boxing (four more per
 *   leaf). Our tokens are instances of a class that only ever sees integers.
 * - Langium gives every leaf a range object with two position objects when
 *   it is built. Our leaves keep the four integers and make the range on
 *   first use (diagnostics, hovers, symbols use few of them).
 */
import {
    CstNodeBuilder, DefaultLexer, LeafCstNodeImpl, createLangiumParser,
    type LangiumCoreServices, type LangiumParser, type LeafCstNode, type LexerResult,
} from 'langium';
import type { Range } from 'vscode-languageserver-types';

type IToken = LexerResult['tokens'][number];
type TokenType = IToken['tokenType'];
type GrammarElement = Parameters<CstNodeBuilder['buildLeafNode']>[1];

class VtopoToken implements IToken {
    constructor(
        public image: string,
        public startOffset: number,
        public endOffset: number,
        public startLine: number,
        public endLine: number,
        public startColumn: number,
        public endColumn: number,
        public tokenTypeIdx: number,
        public tokenType: TokenType,
    ) {}
}

type TokenFactory = (image: string, startOffset: number, tokenTypeIdx: number, tokenType: TokenType,
    startLine: number, startColumn: number, imageLength: number) => IToken;

export class VtopoLexer extends DefaultLexer {
    constructor(services: LangiumCoreServices) {
        super(services);
        // Chevrotain picks its token factory per instance from `positionTracking` ('full' in Langium): replace that one.
        const lexer = this.chevrotainLexer as unknown as { createTokenInstance?: TokenFactory };
        if (typeof lexer.createTokenInstance === 'function') {
            lexer.createTokenInstance = (image, startOffset, tokenTypeIdx, tokenType, startLine, startColumn, imageLength) =>
                new VtopoToken(image, startOffset, startOffset + imageLength - 1, startLine, startLine,
                    startColumn, startColumn + imageLength - 1, tokenTypeIdx, tokenType);
        }
    }
}

/** A leaf that holds its position as four integers (0-based, as in LSP) and builds its range when asked. */
class CompactLeafCstNode extends LeafCstNodeImpl {
    private readonly startLine: number;
    private readonly startCharacter: number;
    private readonly endLine: number;
    private readonly endCharacter: number;
    private rangeCache?: Range;

    constructor(token: IToken, hidden: boolean) {
        super(token.startOffset, token.image.length, undefined as unknown as Range, token.tokenType, hidden);
        // Chevrotain's lines and columns are 1-based and its endColumn inclusive (as Langium's tokenToRange reads them).
        this.startLine = token.startLine! - 1;
        this.startCharacter = token.startColumn! - 1;
        this.endLine = token.endLine! - 1;
        this.endCharacter = token.endColumn!;
    }

    override get range(): Range {
        return this.rangeCache ??= {
            start: { character: this.startCharacter, line: this.startLine },
            end: { character: this.endCharacter, line: this.endLine },
        };
    }
}

class VtopoCstNodeBuilder extends CstNodeBuilder {
    override buildLeafNode(token: IToken, feature?: GrammarElement): LeafCstNode {
        const leaf = new CompactLeafCstNode(token, !feature);
        leaf.grammarSource = feature;
        leaf.root = (this as unknown as { rootNode: LeafCstNode['root'] }).rootNode;
        this.current.content.push(leaf);
        return leaf;
    }
}

export function createVtopoParser(services: LangiumCoreServices): LangiumParser {
    const parser = createLangiumParser(services);
    const slot = parser as unknown as { nodeBuilder?: CstNodeBuilder };
    if (slot.nodeBuilder instanceof CstNodeBuilder) slot.nodeBuilder = new VtopoCstNodeBuilder();
    return parser;
}
