import type { LangiumDocument, MaybePromise } from 'langium';
import type { CodeActionProvider } from 'langium/lsp';
import { CodeActionKind, type CodeAction, type CodeActionParams, type Command } from 'vscode-languageserver';
import type { VtopoDiagnosticData } from '../validation/report.js';

/**
 * Quick fixes come from the rules themselves: a rule that knows the cure puts
 * text edits in the diagnostic's data (see validation/report.ts), and this
 * provider only turns them into code actions. Rules with fixes:
 * unresolved-reference, queues-exceed-cpus, queues-out-of-range,
 * vhost-server-on-ovs, jumbo-without-mrg-rxbuf, vm-memory-too-small,
 * mac-multicast, mtu-exceeds-bridge.
 */
export class VtopoCodeActionProvider implements CodeActionProvider {
    getCodeActions(document: LangiumDocument, params: CodeActionParams): MaybePromise<Array<Command | CodeAction>> {
        const actions: CodeAction[] = [];
        for (const diagnostic of params.context.diagnostics) {
            const data = diagnostic.data as VtopoDiagnosticData | undefined;
            for (const fix of data?.fixes ?? []) {
                actions.push({
                    title: fix.title,
                    kind: CodeActionKind.QuickFix,
                    diagnostics: [diagnostic],
                    isPreferred: data!.fixes!.length === 1,
                    edit: { changes: { [document.textDocument.uri]: [{ range: fix.range, newText: fix.newText }] } },
                });
            }
        }
        return actions;
    }
}
