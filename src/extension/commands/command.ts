import type { CommandContext } from './context.js';

/** One palette command: its id (as in package.json's contributes.commands) and what it does. */
export interface Command {
    readonly id: string;
    readonly handler: (ctx: CommandContext, ...args: unknown[]) => unknown;
}

/** Types a handler's own arguments (VS Code passes them untyped) and erases them for the table. */
export function command<A extends unknown[]>(id: string, handler: (ctx: CommandContext, ...args: A) => unknown): Command {
    return { id, handler: handler as Command['handler'] };
}
