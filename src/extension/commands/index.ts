/**
 * The extension's commands, one module per group. To add a command: write it
 * with `command(id, handler)` in its group's module (or a new one listed
 * here) and declare the id in package.json's contributes.commands.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import type { ViewsStore } from '../views-store.js';
import type { Command } from './command.js';
import { consoleCaptureCommands } from './console-capture.js';
import { createCommandContext } from './context.js';
import { deployCommands } from './deploy.js';
import { exportCommands } from './export.js';
import { graphCommands } from './graph.js';
import { inspectCommands } from './inspect.js';
import { labCommands } from './lab.js';

export const commands: readonly Command[] = [
    ...deployCommands,
    ...inspectCommands,
    ...exportCommands,
    ...consoleCaptureCommands,
    ...labCommands,
    ...graphCommands,
];

export function registerCommands(context: vscode.ExtensionContext, client: LanguageClient, store: ViewsStore, output: vscode.OutputChannel): void {
    const ctx = createCommandContext(context, client, store, output);
    for (const { id, handler } of commands) {
        context.subscriptions.push(vscode.commands.registerCommand(id, (...args: unknown[]) => handler(ctx, ...args)));
    }
}
