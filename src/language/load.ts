/**
 * Loading and checking topology files: the one entry point the CLI
 * (`vtopo check`), plan and deploy share, so they all see the same
 * diagnostics as the editor.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { URI, type LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';
import type { Model } from './generated/ast.js';
import { createVtopoCoreServices } from './vtopo-module.js';

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface TopologyDiagnostic {
    /** The path as given by the caller. */
    file: string;
    /** 1-based. */
    line: number;
    /** 1-based. */
    column: number;
    endLine: number;
    endColumn: number;
    severity: Severity;
    code: string;
    message: string;
}

export interface CheckResult {
    file: string;
    /** Absent when the file could not be read. */
    model?: Model;
    diagnostics: TopologyDiagnostic[];
    hasErrors: boolean;
}

/** Thrown by loadTopology when the file cannot be read; `message` names the cause and the fix. */
export class TopologyLoadError extends Error {
    constructor(message: string, readonly file: string, readonly code = 'file-unreadable') {
        super(message);
        this.name = 'TopologyLoadError';
    }
}

const SEVERITY: Record<number, Severity> = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };

let services: ReturnType<typeof createVtopoCoreServices> | undefined;
let queue: Promise<unknown> = Promise.resolve();
let inlineCounter = 0;

/** Builds run one at a time: the shared workspace is not safe for interleaved builds. */
function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
}

function toDiagnostic(file: string, d: Diagnostic): TopologyDiagnostic {
    const code = typeof d.code === 'string' ? d.code : (d.data as { code?: string } | undefined)?.code ?? 'unknown';
    return {
        file,
        line: d.range.start.line + 1,
        column: d.range.start.character + 1,
        endLine: d.range.end.line + 1,
        endColumn: d.range.end.character + 1,
        severity: SEVERITY[d.severity ?? 1] ?? 'error',
        code,
        message: d.message,
    };
}

function sortDiagnostics(ds: TopologyDiagnostic[]): TopologyDiagnostic[] {
    return ds.sort((a, b) => a.line - b.line || a.column - b.column || a.code.localeCompare(b.code));
}

async function buildTexts(inputs: { file: string; uri: URI; text: string }[]): Promise<CheckResult[]> {
    return serialized(async () => {
        services ??= createVtopoCoreServices();
        const { shared } = services;
        const docs: LangiumDocument<Model>[] = [];
        for (const input of inputs) {
            if (shared.workspace.LangiumDocuments.hasDocument(input.uri)) shared.workspace.LangiumDocuments.deleteDocument(input.uri);
            const doc = shared.workspace.LangiumDocumentFactory.fromString<Model>(input.text, input.uri);
            shared.workspace.LangiumDocuments.addDocument(doc);
            docs.push(doc);
        }
        try {
            await shared.workspace.DocumentBuilder.build(docs, { validation: true });
            return docs.map((doc, i) => {
                const diagnostics = sortDiagnostics((doc.diagnostics ?? []).map((d) => toDiagnostic(inputs[i].file, d)));
                return { file: inputs[i].file, model: doc.parseResult.value, diagnostics, hasErrors: diagnostics.some((d) => d.severity === 'error') };
            });
        } finally {
            // References are resolved by now; dropping the documents keeps a long-lived process from growing.
            for (const input of inputs) shared.workspace.LangiumDocuments.deleteDocument(input.uri);
        }
    });
}

async function readTopologyFile(file: string): Promise<string> {
    try {
        return await readFile(file, 'utf8');
    } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'ENOENT' ? 'no such file; check the path'
            : e.code === 'EISDIR' ? 'it is a directory; name a .vtopo file'
                : e.code === 'EACCES' ? 'permission denied; check the file\'s permissions'
                    : (e.message ?? String(err));
        throw new TopologyLoadError(`cannot read ${file}: ${why}`, file);
    }
}

/** Parses and checks topology text (no file system). `file` is only used to label diagnostics. */
export async function checkText(text: string, file = `inline-${++inlineCounter}.vtopo`): Promise<CheckResult> {
    const uri = URI.file(path.resolve('/__vtopo_inline__', path.basename(file)));
    return (await buildTexts([{ file, uri, text }]))[0];
}

/** Reads, parses and checks one file. Throws TopologyLoadError when it cannot be read. */
export async function loadTopology(file: string): Promise<{ model: Model; diagnostics: TopologyDiagnostic[]; hasErrors: boolean }> {
    const text = await readTopologyFile(file);
    const [r] = await buildTexts([{ file, uri: URI.file(path.resolve(file)), text }]);
    return { model: r.model!, diagnostics: r.diagnostics, hasErrors: r.hasErrors };
}

/** Checks several files; an unreadable file yields one `file-unreadable` error instead of throwing. */
export async function checkFiles(files: string[]): Promise<CheckResult[]> {
    const results: (CheckResult | undefined)[] = [];
    const inputs: { file: string; uri: URI; text: string; slot: number }[] = [];
    for (const file of files) {
        try {
            inputs.push({ file, uri: URI.file(path.resolve(file)), text: await readTopologyFile(file), slot: results.length });
            results.push(undefined);
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            results.push({
                file, diagnostics: [{ file, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code: 'file-unreadable', message }], hasErrors: true,
            });
        }
    }
    // Each distinct path once; repeated arguments reuse the result.
    const unique = [...new Map(inputs.map((i) => [i.uri.toString(), i])).values()];
    const built = unique.length ? await buildTexts(unique) : [];
    const byUri = new Map(unique.map((u, i) => [u.uri.toString(), built[i]]));
    for (const input of inputs) {
        const r = byUri.get(input.uri.toString())!;
        results[input.slot] = { ...r, file: input.file, diagnostics: r.diagnostics.map((d) => ({ ...d, file: input.file })) };
    }
    return results as CheckResult[];
}

/** `file:line:col severity code message` — the `vtopo check` line format. */
export function formatDiagnostic(d: TopologyDiagnostic): string {
    return `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message.replace(/\s*\n\s*/g, ' ')}`;
}
