import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

// The command modules import the editor API and the language client; the table itself needs neither.
vi.mock('vscode', () => ({}));
vi.mock('../../src/extension/client.js', () => ({}));

const { commands } = await import('../../src/extension/commands/index.js');

describe('extension command table', () => {
    it('registers each command declared in package.json once, plus the graph\'s internal vtopo.reveal', () => {
        const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { contributes: { commands: { command: string }[] } };
        const declared = pkg.contributes.commands.map((c) => c.command);
        const ids = commands.map((c) => c.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual([...declared, 'vtopo.reveal'].sort());
    });
});
