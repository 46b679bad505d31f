import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createDefaultCoreModule, createDefaultSharedCoreModule, CstUtils, EmptyFileSystem, inject, URI, type Module, type LangiumCoreServices } from 'langium';
import { describe, expect, it } from 'vitest';
import { VtopoGeneratedModule, VtopoGeneratedSharedModule } from '../../src/language/generated/module.js';
import { VtopoValueConverter } from '../../src/language/value-converter.js';
import { lab, lsp } from './helpers.js';

/** Langium's own lexer and CST builder, to compare against src/language/parser.ts. */
function langiumDefaults() {
    const shared = inject(createDefaultSharedCoreModule(EmptyFileSystem), VtopoGeneratedSharedModule);
    const ours: Module<LangiumCoreServices, object> = { parser: { ValueConverter: () => new VtopoValueConverter() } } as Module<LangiumCoreServices, object>;
    shared.ServiceRegistry.register(inject(createDefaultCoreModule({ shared }), VtopoGeneratedModule, ours));
    return shared;
}

function cst(shared: typeof lsp.shared | ReturnType<typeof langiumDefaults>, text: string) {
    const doc = shared.workspace.LangiumDocumentFactory.fromString(text, URI.parse(`file:///cmp-${Math.random()}.vtopo`));
    return {
        nodes: [...CstUtils.streamCst(doc.parseResult.value.$cstNode!)].map((n) => ({ range: n.range, offset: n.offset, length: n.length, hidden: n.hidden, text: n.text })),
        errors: doc.parseResult.parserErrors.map((e) => e.message),
    };
}

describe('compact tokens and CST leaves', () => {
    const plain = langiumDefaults();
    const examples = path.resolve(__dirname, '../../examples');
    const texts: [string, string][] = [
        ['lab', lab()],
        ['comments and errors', '// top\ntopology t {\n  // a VM\n  vm a { memory 1x  cpus }\n  bridge\n'],
        ...readdirSync(examples).filter((f) => f.endsWith('.vtopo')).map((f): [string, string] => [f, readFileSync(path.join(examples, f), 'utf8')]),
    ];
    it.each(texts)('give the same CST ranges, offsets and parse errors as Langium\'s (%s)', (_, text) => {
        expect(cst(lsp.shared, text)).toEqual(cst(plain, text));
    });
    it('are in use (Langium internals they hook into still exist)', () => {
        const doc = lsp.shared.workspace.LangiumDocumentFactory.fromString(lab(), URI.parse('file:///in-use.vtopo'));
        const leaves = [...CstUtils.streamCst(doc.parseResult.value.$cstNode!)].filter((n) => !('content' in n));
        expect(leaves.length).toBeGreaterThan(10);
        for (const l of leaves) expect(l.constructor.name).toBe('CompactLeafCstNode');
        const lexed = lsp.shared.ServiceRegistry.getServices(URI.parse('file:///x.vtopo')).parser.Lexer.tokenize('topology t { }');
        expect(lexed.tokens[0].constructor.name).toBe('VtopoToken');
    });
});
