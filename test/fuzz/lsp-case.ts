/**
 * One language-server fuzz case: a text goes through parsing, linking and
 * validation, then every editor feature the server offers (hover,
 * completion, definition, references, highlight, rename, symbols, folding,
 * semantic tokens, formatting, code actions) at positions spread over the
 * text. Whatever throws, and every range that does not lie inside the
 * document, is a finding. A text the checker accepts must also compile to
 * a Plan whose derived names are safe.
 */
import * as path from 'node:path';
import { AstUtils, EmptyFileSystem, GrammarAST, URI, type LangiumDocument } from 'langium';
import { CancellationToken, type Diagnostic, type Position, type Range, type TextEdit } from 'vscode-languageserver';
import type { Model } from '../../src/language/generated/ast.js';
import { createVtopoServices, type VtopoServices } from '../../src/language/vtopo-module.js';
import { compilePlan, socketsOf, topologyOf } from '../../src/plan/compile.js';
import { MAX_IFNAME } from '../../src/plan/derive.js';
import { VtopoError } from '../../src/core/api.js';
import { Rng } from '../support/rng.js';

export interface LspFinding {
    feature: string;
    message: string;
}

export interface LspCaseResult {
    findings: LspFinding[];
    /** Milliseconds per feature, to spot near-hangs (quadratic blow-ups). */
    millis: Record<string, number>;
    diagnostics: number;
    parsedClean: boolean;
}

const RUN_ROOT = '/run/vtopo-fuzz';

export class LspFuzzer {
    readonly services: VtopoServices;
    readonly keywords: string[];
    private counter = 0;

    constructor() {
        this.services = createVtopoServices(EmptyFileSystem).Vtopo;
        this.keywords = [...new Set(AstUtils.streamAllContents(this.services.Grammar)
            .filter(GrammarAST.isKeyword).map((k) => k.value))];
    }

    async run(text: string, rng: Rng): Promise<LspCaseResult> {
        const shared = this.services.shared;
        const uri = URI.file(`/fuzz/case-${++this.counter}.vtopo`);
        const findings: LspFinding[] = [];
        const millis: Record<string, number> = {};
        const step = async <T>(feature: string, fn: () => Promise<T> | T): Promise<T | undefined> => {
            const t0 = performance.now();
            try {
                return await fn();
            } catch (err) {
                findings.push({ feature, message: errorText(err) });
                return undefined;
            } finally {
                millis[feature] = (millis[feature] ?? 0) + performance.now() - t0;
            }
        };
        let doc: LangiumDocument<Model> | undefined;
        try {
            doc = await step('build', async () => {
                const d = shared.workspace.LangiumDocumentFactory.fromString<Model>(text, uri);
                shared.workspace.LangiumDocuments.addDocument(d);
                await shared.workspace.DocumentBuilder.build([d], { validation: true });
                return d;
            });
            if (!doc) return { findings, millis, diagnostics: 0, parsedClean: false };
            const d = doc;
            const diags = d.diagnostics ?? [];
            for (const diag of diags) {
                const bad = rangeProblem(d, diag.range);
                if (bad) findings.push({ feature: 'diagnostic-range', message: `${bad}: ${diag.message} (${JSON.stringify(diag.range)})` });
                if (!diag.message) findings.push({ feature: 'diagnostic-message', message: `empty message at ${JSON.stringify(diag.range)}` });
            }
            await this.features(d, diags, rng, step, findings);
            const hasErrors = diags.some((x) => (x.severity ?? 1) === 1);
            if (!hasErrors) await step('compile', () => this.compile(d, findings));
            return { findings, millis, diagnostics: diags.length, parsedClean: d.parseResult.parserErrors.length === 0 && d.parseResult.lexerErrors.length === 0 };
        } finally {
            if (shared.workspace.LangiumDocuments.hasDocument(uri)) shared.workspace.LangiumDocuments.deleteDocument(uri);
        }
    }

    private async features(
        d: LangiumDocument<Model>, diags: Diagnostic[], rng: Rng,
        step: <T>(feature: string, fn: () => Promise<T> | T) => Promise<T | undefined>, findings: LspFinding[],
    ): Promise<void> {
        const lsp = this.services.lsp;
        const td = d.textDocument;
        const textDocument = { uri: d.uri.toString() };
        const positions = samplePositions(d, rng, 6);
        const checkRanges = (feature: string, ranges: (Range | undefined)[]) => {
            for (const r of ranges) {
                if (!r) continue;
                const bad = rangeProblem(d, r);
                if (bad) findings.push({ feature, message: `${bad}: ${JSON.stringify(r)}` });
            }
        };
        for (const position of positions) {
            const params = { textDocument, position };
            await step('hover', () => lsp.HoverProvider?.getHoverContent(d, params));
            const completion = await step('completion', () => lsp.CompletionProvider?.getCompletion(d, params, CancellationToken.None));
            checkRanges('completion-range', (completion?.items ?? []).map((i) => (i.textEdit && 'range' in i.textEdit ? i.textEdit.range : undefined)));
            const defs = await step('definition', () => lsp.DefinitionProvider?.getDefinition(d, params));
            checkRanges('definition-range', (defs ?? []).filter((l) => l.targetUri === textDocument.uri).map((l) => l.targetSelectionRange));
            const refs = await step('references', () => lsp.ReferencesProvider?.findReferences(d, { ...params, context: { includeDeclaration: true } }));
            checkRanges('references-range', (refs ?? []).map((l) => l.range));
            const hl = await step('highlight', () => lsp.DocumentHighlightProvider?.getDocumentHighlight(d, params));
            checkRanges('highlight-range', (hl ?? []).map((h) => h.range));
            const prep = await step('prepare-rename', () => lsp.RenameProvider?.prepareRename(d, params));
            checkRanges('prepare-rename-range', [prep]);
            if (prep) {
                const edit = await step('rename', () => lsp.RenameProvider?.rename(d, { ...params, newName: 'renamed_x' }));
                checkRanges('rename-range', edit?.changes?.[textDocument.uri]?.map((e) => e.range) ?? []);
            }
        }
        const symbols = await step('symbols', () => lsp.DocumentSymbolProvider?.getSymbols(d, { textDocument }));
        const walk = (ss: typeof symbols): Range[] => (ss ?? []).flatMap((s) => [s.range, s.selectionRange, ...walk(s.children)]);
        checkRanges('symbol-range', walk(symbols));
        await step('folding', () => lsp.FoldingRangeProvider?.getFoldingRanges(d, { textDocument }));
        const tokens = await step('semantic-tokens', () => lsp.SemanticTokenProvider?.semanticHighlight(d, { textDocument }, CancellationToken.None));
        if (tokens) {
            const bad = semanticTokenProblem(d, tokens.data);
            if (bad) findings.push({ feature: 'semantic-tokens-range', message: bad });
        }
        const options = { tabSize: 2, insertSpaces: true };
        const edits = await step('format', () => lsp.Formatter?.formatDocument(d, { textDocument, options }));
        if (edits) {
            const bad = editsProblem(d, edits);
            if (bad) findings.push({ feature: 'format-edits', message: bad });
        }
        if (positions.length >= 2) {
            const [a, b] = [td.offsetAt(positions[0]), td.offsetAt(positions[1])].sort((x, y) => x - y);
            const range = { start: td.positionAt(a), end: td.positionAt(b) };
            const rEdits = await step('format-range', () => lsp.Formatter?.formatDocumentRange(d, { textDocument, options, range }));
            if (rEdits) {
                const bad = editsProblem(d, rEdits);
                if (bad) findings.push({ feature: 'format-range-edits', message: bad });
            }
        }
        for (const diag of diags.slice(0, 8)) {
            const actions = await step('code-actions', () => lsp.CodeActionProvider?.getCodeActions(d, { textDocument, range: diag.range, context: { diagnostics: [diag] } }));
            for (const a of actions ?? []) {
                if (!('edit' in a) || !a.edit) continue;
                const own = a.edit.changes?.[textDocument.uri] ?? [];
                const bad = editsProblem(d, own, { whitespaceOnly: false });
                if (bad) findings.push({ feature: 'code-action-edits', message: `${a.title}: ${bad}` });
            }
        }
    }

    /** A checked topology must compile, or be refused with a VtopoError; derived names must be safe. */
    private compile(d: LangiumDocument<Model>, findings: LspFinding[]): void {
        const model = d.parseResult.value;
        if ((model.topologies ?? []).length !== 1) return;
        const sourceFile = '/src/lab/topo.vtopo';
        let plan;
        try {
            plan = compilePlan(topologyOf(model, sourceFile), { runRoot: RUN_ROOT, kvmUsable: false, sourceFile, onlineCpus: [0, 1] });
        } catch (err) {
            if (err instanceof VtopoError) return;
            throw err;
        }
        for (const problem of planProblems(plan)) findings.push({ feature: 'plan-names', message: problem });
    }
}

/** What in a compiled plan could escape its run directory or break an interface name. */
export function planProblems(plan: ReturnType<typeof compilePlan>, runRoot = RUN_ROOT): string[] {
    const out: string[] = [];
    const runDir = plan.runDir;
    if (path.dirname(runDir) !== path.resolve(runRoot)) out.push(`run dir ${runDir} is not directly under ${runRoot}`);
    if (path.relative(path.resolve(runRoot), runDir).split(path.sep).includes('..')) out.push(`run dir ${runDir} escapes ${runRoot}`);
    for (const s of socketsOf(plan)) {
        if (!s.path.startsWith(runDir + path.sep)) out.push(`${s.what} socket ${s.path} outside ${runDir}`);
        if (path.normalize(s.path) !== s.path) out.push(`${s.what} socket ${s.path} is not normalized`);
    }
    for (const n of plan.nics) {
        if (n.driver.kind !== 'tap') continue;
        const name = n.driver.ifname;
        if (name.length > MAX_IFNAME || !/^[A-Za-z0-9_-]+$/.test(name)) out.push(`tap name '${name}' of nic ${n.name} is not a valid interface name`);
    }
    const macs = plan.vms.flatMap((v) => v.ports.map((p) => p.mac));
    if (new Set(macs).size !== macs.length) out.push(`duplicate MACs ${macs.join(' ')}`);
    return out;
}

/** Why a range does not lie inside the document, or undefined when it does. */
export function rangeProblem(d: LangiumDocument, r: Range): string | undefined {
    const valid = (p: Position) => Number.isInteger(p.line) && Number.isInteger(p.character) && p.line >= 0 && p.character >= 0
        && p.line < d.textDocument.lineCount && samePos(d.textDocument.positionAt(d.textDocument.offsetAt(p)), p);
    if (!r || !r.start || !r.end) return 'missing range';
    if (!valid(r.start)) return 'start outside the document';
    if (!valid(r.end)) return 'end outside the document';
    if (d.textDocument.offsetAt(r.end) < d.textDocument.offsetAt(r.start)) return 'end before start';
    return undefined;
}

function samePos(a: Position, b: Position): boolean {
    return a.line === b.line && a.character === b.character;
}

function semanticTokenProblem(d: LangiumDocument, data: number[]): string | undefined {
    if (data.length % 5 !== 0) return `token data length ${data.length} is not a multiple of 5`;
    let line = 0;
    let char = 0;
    for (let i = 0; i < data.length; i += 5) {
        const [dl, dc, len] = data.slice(i, i + 3);
        if (dl < 0 || dc < 0 || len < 0) return `negative token delta at ${i / 5}`;
        line += dl;
        char = dl === 0 ? char + dc : dc;
        const r = { start: { line, character: char }, end: { line, character: char + len } };
        const bad = rangeProblem(d, r);
        if (bad) return `token ${i / 5} ${JSON.stringify(r)}: ${bad}`;
    }
    return undefined;
}

/** Edits must lie inside the document, not overlap, and (for formatting) change whitespace only. */
function editsProblem(d: LangiumDocument, edits: TextEdit[], opts = { whitespaceOnly: true }): string | undefined {
    const td = d.textDocument;
    for (const e of edits) {
        const bad = rangeProblem(d, e.range);
        if (bad) return `${bad}: ${JSON.stringify(e.range)}`;
    }
    const spans = edits.map((e) => [td.offsetAt(e.range.start), td.offsetAt(e.range.end), e] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) return `overlapping edits ${JSON.stringify(spans[i - 1][2].range)} and ${JSON.stringify(spans[i][2].range)}`;
    if (!opts.whitespaceOnly) return undefined;
    const text = td.getText();
    let out = '';
    let pos = 0;
    for (const [s, e, edit] of spans) { out += text.slice(pos, s) + edit.newText; pos = e; }
    out += text.slice(pos);
    const squash = (t: string) => t.replace(/\s+/g, '');
    if (squash(out) !== squash(text)) return 'formatting changed more than whitespace';
    return undefined;
}

/** Positions to ask features at: token starts and ends, the first and last character, and random offsets. */
function samplePositions(d: LangiumDocument, rng: Rng, n: number): Position[] {
    const td = d.textDocument;
    const len = td.getText().length;
    const offsets = new Set<number>([0, len]);
    while (offsets.size < Math.min(n, len + 1)) offsets.add(rng.int(len + 1));
    return [...offsets].map((o) => td.positionAt(o));
}

function errorText(err: unknown): string {
    if (err instanceof Error) return `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
    return String(err);
}
