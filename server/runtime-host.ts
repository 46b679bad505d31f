/**
 * The runtime the language server hosts: the same functions the CLI calls,
 * plus the editor-only extras (export text, console socket, capture).
 */
import { VtopoError } from '../src/runtime/api.js';
import type { LiveRuntime } from '../src/language/lsp/live-server.js';

export async function loadRuntime(): Promise<LiveRuntime> {
    throw new VtopoError('the vtopo runtime is not part of this build yet', 'use a build that includes src/runtime/index.ts');
}
