/** Editor features through the language services, with langium/test helpers. */
import { readFileSync } from 'node:fs';
import { AstUtils, CstUtils, GrammarAST, isLeafCstNode } from 'langium';
import {
    expectCompletion, expectFindReferences, expectFormatting, expectGoToDefinition, expectHover, expectSemanticToken,
    expectSymbols, highlightHelper, testCodeAction, textDocumentPositionParams,
} from 'langium/test';
import { SemanticTokenTypes, type CompletionItem, type DocumentSymbol } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describe, expect, it } from 'vitest';
import { keywordDoc } from '../../src/language/lsp/keyword-docs.js';
import { lab, lsp, parse } from './helpers.js';

const services = lsp.Vtopo;
const completion = expectCompletion(services);
const hover = expectHover(services);
const labels = (items: CompletionItem[]) => items.map((i) => i.label).sort();
const DESIGN = readFileSync('test/fixtures/design-example.vtopo', 'utf8');

/** Every keyword of the grammar, punctuation excluded. */
const KEYWORDS = [...new Set(AstUtils.streamAllContents(services.Grammar).filter(GrammarAST.isKeyword).map((k) => k.value).filter((v) => /\w/.test(v)))];

describe('completion', () => {
    it('offers the element keywords inside a topology', async () => {
        await completion({ text: 'topology t { <|> }', index: 0, expectedItems: ['host', 'nic', 'bridge', 'link', 'vm', 'expect', 'fabric', 'router'] });
    });

    it('offers enum values with their meaning', async () => {
        await completion({
            text: 'topology t { bridge b { datapath <|> } }', index: 0,
            assert: (list) => {
                expect(labels(list.items)).toEqual(['embedded', 'ovs']);
                expect(JSON.stringify(list.items.find((i) => i.label === 'ovs')?.documentation)).toContain('Open vSwitch');
            },
        });
        await completion({ text: 'topology t { vm a { accel <|> } }', index: 0, expectedItems: ['auto', 'kvm', 'tcg'] });
        await completion({ text: 'topology t { vm a { port e { vhost <|> } } }', index: 0, expectedItems: ['client', 'server'] });
        await completion({ text: 'topology t { nic n { driver <|> } }', index: 0, expectedItems: ['tap', 'af_packet', 'pci'] });
    });

    it('offers the bridges of this topology as references, nothing else', async () => {
        await completion({
            text: 'topology t { bridge br0 bridge br1 nic up { driver tap bridge br0 } vm a { port e { bridge <|> } } } topology u { bridge other }',
            index: 0, assert: (list) => expect(labels(list.items)).toEqual(['br0', 'br1']),
        });
        await completion({ text: 'topology t { bridge br0 bridge br1 link br0 <|> }', index: 0, assert: (list) => expect(labels(list.items)).toEqual(['br0', 'br1']) });
    });

    it('does not offer a property the block already sets, nor keywords where a new name goes', async () => {
        await completion({
            text: 'topology t { vm a { cpus 1  memory 256M  <|> } }', index: 0,
            assert: (list) => expect(labels(list.items)).toEqual(['accel', 'host', 'image', 'pin', 'port']),
        });
        await completion({ text: 'topology t { vm <|> }', index: 0, assert: (list) => expect(list.items).toEqual([]) });
        await completion({
            text: 'topology t { nic n { rss ipv4-tcp <|> } }', index: 0,
            assert: (list) => expect(labels(list.items)).not.toContain('ipv4-tcp'),
        });
    });

    it('expands a block keyword to a skeleton snippet', async () => {
        await completion({
            text: 'topology t { bridge br0  v<|> }', index: 0,
            assert: (list) => expect(list.items.find((i) => i.label === 'vm')).toMatchObject({ insertTextFormat: 2, insertText: expect.stringContaining('port ${4:eth0} { bridge ${5:br0} }') }),
        });
    });

    it('offers an example value for a size', async () => {
        await completion({ text: 'topology t { host { memory <|> } }', index: 0, assert: (list) => expect(labels(list.items)).toContain('256M') });
    });
});

describe('hover', () => {
    it('has a sentence or two for every keyword of the grammar', () => {
        const missing = KEYWORDS.filter((k) => !keywordDoc('', k) && !['Host', 'Nic', 'Bridge', 'Vm', 'Port'].some((t) => keywordDoc(t, k)));
        expect(missing).toEqual([]);
    });

    it('answers on every keyword occurrence of the examples', async () => {
        const text = [DESIGN, ...['lsp-coverage', 'lsp-coverage-fabric', 'invalid/fabric'].map((f) => readFileSync(`test/fixtures/${f}.vtopo`, 'utf8'))].join('\n');
        const doc = await parse(text);
        const seen = new Set<string>();
        for (const leaf of CstUtils.streamCst(doc.parseResult.value.$cstNode!)) {
            if (!isLeafCstNode(leaf) || leaf.hidden || !GrammarAST.isKeyword(leaf.grammarSource) || !/\w/.test(leaf.text)) continue;
            const h = await services.lsp.HoverProvider.getHoverContent(doc, textDocumentPositionParams(doc, leaf.offset));
            expect((h?.contents as { value?: string })?.value, `hover on '${leaf.text}' at line ${leaf.range.start.line + 1}`).toBeTruthy();
            seen.add(leaf.text);
        }
        // The three fixtures together use every keyword (outside name positions).
        expect(KEYWORDS.filter((k) => !seen.has(k))).toEqual([]);
    });

    it('explains a keyword with the value it resolves to here', async () => {
        await hover({ text: DESIGN.replace('    queues 2\n      mac', '    <|>queues 2\n      mac'), index: 0, hover: /queue pairs[\s\S]*Here:\* 2 queue pairs; vm web has 2 vCPUs; the embedded datapath polls them from one loop/ });
        await hover({ text: DESIGN.replace('hugepages 512M', '<|>hugepages 512M'), index: 0, hover: /256 2M pages = 512M/ });
        await hover({ text: DESIGN.replace('vhost client', 'vhost <|>client'), index: 0, hover: /QEMU serves the socket/ });
        await hover({ text: lab().replace('port eth0 { bridge br0  ip 10.0.0.1/24', 'port eth0 { bridge br0  ip <|>10.0.0.1/24'), index: 0, hover: /broadcast 10\.0\.0\.255/ });
        await hover({ text: lab().replace('cpus 2', '<|>cpus 2'), index: 0, hover: /Here:\* 2 vCPUs/ });
    });

    it('resolves a reference and describes its target', async () => {
        await hover({
            text: lab().replace('port eth0 { bridge br0  ip 10.0.0.1', 'port eth0 { bridge <|>br0  ip 10.0.0.1'), index: 0,
            hover: /\*\*bridge br0\*\* — L2 learning bridge on the embedded datapath, MTU 1500\.[\s\S]*Attached: a\.eth0, b\.eth0/,
        });
        await hover({ text: lab().replace('vm a {', 'vm <|>a {'), index: 0, hover: /\*\*vm a\*\* — QEMU guest with 2 vCPUs, 256M RAM/ });
    });

    it('appends the text of registered augmenters (live state) and survives a failing one', async () => {
        const hp = services.lsp.HoverProvider;
        const live = hp.addHoverAugmenter((node) => (node.$type === 'Vm' ? '**live:** running, 2 vCPUs busy' : undefined));
        const broken = hp.addHoverAugmenter(() => { throw new Error('status unavailable'); });
        try {
            await hover({ text: lab().replace('vm a {', 'vm <|>a {'), index: 0, hover: /QEMU guest[\s\S]*\*\*live:\*\* running/ });
            await hover({ text: lab().replace('bridge br0\n', 'bridge <|>br0\n'), index: 0, hover: /^(?![\s\S]*live)/ });
        } finally {
            live.dispose();
            broken.dispose();
        }
        await hover({ text: lab().replace('vm a {', 'vm <|>a {'), index: 0, hover: /^(?![\s\S]*live)/ });
    });
});

describe('navigation', () => {
    it('goes to the bridge a port names', async () => {
        await expectGoToDefinition(services)({ text: 'topology t { bridge <|br0|> vm a { port e { bridge <|>br0 } } }', index: 0, rangeIndex: 0 });
    });

    it('finds every reference to a bridge', async () => {
        await expectFindReferences(services)({
            text: 'topology t { bridge <|<|>br0|> bridge br1 link <|br0|> br1 nic n { driver tap bridge <|br0|> } vm a { port e { bridge <|br0|> } } }',
            includeDeclaration: true,
        });
    });

    it('renames a bridge with all its references, and only in its topology', async () => {
        const text = 'topology t { bridge br0 bridge br1 link br0 br1 vm a { port e { bridge br0 } } }\ntopology u { bridge br0 vm b { port e { bridge br0 } } }';
        const doc = await parse(text);
        const edit = await services.lsp.RenameProvider!.rename(doc, { ...textDocumentPositionParams(doc, text.indexOf('br0')), newName: 'lan' });
        const edits = edit?.changes?.[doc.textDocument.uri] ?? [];
        const out = TextDocument.applyEdits(doc.textDocument, edits);
        expect(out).toBe('topology t { bridge lan bridge br1 link lan br1 vm a { port e { bridge lan } } }\ntopology u { bridge br0 vm b { port e { bridge br0 } } }');
    });

    it('outlines topologies, the host, links, VMs and their ports', async () => {
        await expectSymbols(services)({
            text: DESIGN,
            assert: (symbols: DocumentSymbol[]) => {
                const flat = (s: DocumentSymbol, depth = 0): string[] => [`${'  '.repeat(depth)}${s.name}${s.detail ? ` (${s.detail})` : ''}`, ...(s.children ?? []).flatMap((c) => flat(c, depth + 1))];
                expect(symbols.flatMap((s) => flat(s))).toEqual([
                    'lab',
                    '  host (cores 0-1, 16G)',
                    '  uplink (tap, 2 queues)',
                    '  br0 (embedded)',
                    '  br1 (embedded)',
                    '  link br0 br1',
                    '  web (2 vCPU, 256M)',
                    '    eth0 (br0, 2 queues, 10.0.0.1/24)',
                    '  db (1 vCPU, 256M)',
                    '    eth0 (br0, 10.0.0.2/24)',
                ]);
            },
        });
    });
});

describe('formatting', () => {
    const format = expectFormatting(services);
    const options = { insertSpaces: true, tabSize: 2 };

    it('indents blocks, puts one property per line and keeps one-line blocks on one line', async () => {
        await format({
            options,
            before: 'topology lab{host{cores 0-1\nmemory 4G}\nbridge   br0\n// the guests\nvm a{cpus 1 memory 256M\nport eth0{bridge br0   ip 10.0.0.1/24}\n   port eth1 {\nbridge br0\n queues 1 }\n}\n}\ntopology other { bridge x }',
            after: 'topology lab {\n  host {\n    cores 0-1\n    memory 4G\n  }\n  bridge br0\n  // the guests\n  vm a {\n    cpus 1\n    memory 256M\n    port eth0 { bridge br0 ip 10.0.0.1/24 }\n    port eth1 {\n      bridge br0\n      queues 1\n    }\n  }\n}\n\ntopology other {\n  bridge x\n}',
        });
    });

    it('leaves formatted text alone', async () => {
        const formatted = 'topology t {\n  bridge br0 { datapath embedded mtu 1500 }\n  link br0 br0\n}';
        await format({ options, before: formatted, after: formatted });
    });
});

describe('quick fixes', () => {
    const fix = testCodeAction(services);

    it('queues-exceed-cpus: set queues to the vCPU count', async () => {
        const before = lab({ host: 'cores 0-3  memory 8G  poll-cores 2-3', portA: 'bridge br0  ip 10.0.0.1/24  queues 4' });
        await fix(before, 'queues-exceed-cpus', before.replace('queues 4', 'queues 2'));
    });

    it('vhost-server-on-ovs: switch to vhost client', async () => {
        const before = lab({ host: 'cores 0-3  memory 8G  hugepages 2G  poll-cores 3', elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24  vhost server' });
        await fix(before, 'vhost-server-on-ovs', before.replace('vhost server', 'vhost client'));
    });

    it('mac-multicast: clear the multicast bit', async () => {
        const before = lab({ portA: 'bridge br0  ip 10.0.0.1/24  mac 53:54:00:00:00:01' });
        await fix(before, 'mac-multicast', before.replace('53:54', '52:54'));
    });

    it('unresolved-reference: take the suggested name', async () => {
        const before = lab({ portB: 'bridge bro  ip 10.0.0.2/24' });
        await fix(before, 'unresolved-reference', lab());
    });

    it('mtu-exceeds-bridge, vm-memory-too-small, jumbo-without-mrg-rxbuf, queues-out-of-range', async () => {
        const mtu = lab({ portA: 'bridge br0  ip 10.0.0.1/24  mtu 9000' });
        await fix(mtu, 'mtu-exceeds-bridge', mtu.replace('mtu 9000', 'mtu 1500'));
        const mem = lab({ b: 'cpus 1  memory 64M' });
        await fix(mem, 'vm-memory-too-small', lab({ b: 'cpus 1  memory 128M' }));
        const jumbo = lab({ elements: 'bridge j { mtu 9000 }', portB: 'bridge j  ip 10.0.1.2/24  mrg-rxbuf off' });
        await fix(jumbo, 'jumbo-without-mrg-rxbuf', jumbo.replace('mrg-rxbuf off', 'mrg-rxbuf on'));
        const q = lab({ portA: 'bridge br0  ip 10.0.0.1/24  queues 0' });
        await fix(q, 'queues-out-of-range', q.replace('queues 0', 'queues 1'));
    });

    it('syntax-error on a misspelt property: take the closest keyword', async () => {
        const result = await fix(lab({ a: 'cpus 2  memroy 256M' }), 'syntax-error', lab({ a: 'cpus 2  memory 256M' }));
        expect(result.diagnosticRelevant.message).toContain('did you mean `memory`?');
    });
});

describe('semantic tokens', () => {
    it('marks declarations, references, numbers, enum values and strings by role', async () => {
        const highlight = highlightHelper(services);
        const tokens = await highlight('topology <|t|> { bridge <|br0|> { datapath <|ovs|> } nic <|n|> { driver af_packet <|"eth1"|> bridge <|br0|> } vm <|a|> { memory <|256M|> port <|e|> { bridge br0 } } }');
        expectSemanticToken(tokens, { rangeIndex: 0, tokenType: SemanticTokenTypes.namespace });
        expectSemanticToken(tokens, { rangeIndex: 1, tokenType: SemanticTokenTypes.struct });
        expectSemanticToken(tokens, { rangeIndex: 2, tokenType: SemanticTokenTypes.enumMember });
        expectSemanticToken(tokens, { rangeIndex: 3, tokenType: SemanticTokenTypes.interface });
        expectSemanticToken(tokens, { rangeIndex: 4, tokenType: SemanticTokenTypes.string });
        expectSemanticToken(tokens, { rangeIndex: 5, tokenType: SemanticTokenTypes.struct });
        expectSemanticToken(tokens, { rangeIndex: 6, tokenType: SemanticTokenTypes.class });
        expectSemanticToken(tokens, { rangeIndex: 7, tokenType: SemanticTokenTypes.number });
        expectSemanticToken(tokens, { rangeIndex: 8, tokenType: SemanticTokenTypes.property });
    });
});
