import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

function regenHint(): string {
    const test = expect.getState().testPath;
    return `UPDATE_GOLDEN=1 npx vitest run ${test ? path.relative(process.cwd(), test) : '<test file>'}`;
}

/**
 * Compares `text` with the golden `file`; writes it only under UPDATE_GOLDEN=1.
 * A missing golden fails: otherwise deleting one would silently re-pin whatever
 * the code produces now.
 */
export function expectGolden(file: string, text: string): void {
    if (UPDATE_GOLDEN) {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
    }
    if (!existsSync(file)) throw new Error(`golden file ${path.relative(process.cwd(), file)} is missing: generate it with \`${regenHint()}\` and review it`);
    expect(text, `differs from ${file}; if the change is intended, run \`${regenHint()}\` and review the diff`).toBe(readFileSync(file, 'utf8'));
}
