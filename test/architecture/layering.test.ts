/**
 * The layering rules in .dependency-cruiser.cjs bite: a tree that breaks each
 * of them fails `depcruise` with exactly the expected rule on the expected
 * file, and the same tree without the breaking imports passes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Files every tree has: one module per layer, importing only what the rules allow. */
const CLEAN: Record<string, string> = {
    'src/core/errors.ts': 'export class VtopoError extends Error {}\n',
    'src/language/units.ts': "import { VtopoError } from '../core/errors.js';\nexport const unit = VtopoError;\n",
    'src/language/load.ts': "import { readFile } from 'node:fs/promises';\nexport const load = readFile;\n",
    'src/plan/compile.ts': "import * as path from 'node:path';\nimport { unit } from '../language/units.js';\nexport const compile = [unit, path.join];\n",
    'src/host/state.ts': "import { writeFileSync } from 'node:fs';\nexport const save = writeFileSync;\n",
    'src/datapath/sys/libc.ts': "import koffi from 'koffi';\nexport const lib = koffi;\n",
    'src/datapath/switch/bridge.ts': "import type { Port } from './port.js';\nexport class Bridge { ports: Port[] = []; }\n",
    // Classes that name each other by type only: a cycle that does not exist at run time.
    'src/datapath/switch/port.ts': "import type { Bridge } from './bridge.js';\nexport class Port { bridge?: Bridge; }\n",
    'src/backends/embedded.ts': "import { spawn } from 'node:child_process';\nimport { save } from '../host/state.js';\nimport { lib } from '../datapath/sys/libc.js';\nexport const b = [spawn, save, lib];\n",
    'src/runtime/runtime.ts': "import { mkdirSync } from 'node:fs';\nimport { compile } from '../plan/compile.js';\nimport { b } from '../backends/embedded.js';\nexport const r = [mkdirSync, compile, b];\n",
    'src/extension/main.ts': "import { VtopoError } from '../core/errors.js';\nexport const e = VtopoError;\n",
    'test/support/until.ts': 'export const until = 1;\n',
};

/** Each breaks one rule: the rule's name and the file(s) that break it (a cycle is reported once, from either end). */
const BREAKS: { rule: string; files: Record<string, string> }[] = [
    { rule: 'no-runtime-below', files: { 'src/plan/__violation.ts': "import { r } from '../runtime/runtime.js';\nexport const v = r;\n" } },
    {
        rule: 'no-circular', files: {
            'src/runtime/cycle-a.ts': "import { b } from './cycle-b.js';\nexport const a = () => b;\n",
            'src/runtime/cycle-b.ts': "import { a } from './cycle-a.js';\nexport const b = () => a;\n",
        },
    },
    { rule: 'core-is-leaf', files: { 'src/core/__violation.ts': "import { unit } from '../language/units.js';\nexport const v = unit;\n" } },
    { rule: 'language-only-core', files: { 'src/language/__violation.ts': "import { compile } from '../plan/compile.js';\nexport const v = compile;\n" } },
    { rule: 'datapath-only-core', files: { 'src/datapath/__violation.ts': "import { save } from '../host/state.js';\nexport const v = save;\n" } },
    { rule: 'extension-only-core', files: { 'src/extension/__violation.ts': "import { lib } from '../datapath/sys/libc.js';\nexport const v = lib;\n" } },
    { rule: 'no-test-code-in-product', files: { 'src/host/__violation.ts': "import { until } from '../../test/support/until.js';\nexport const v = until;\n" } },
    { rule: 'koffi-only-in-sys', files: { 'src/datapath/switch/__violation.ts': "import koffi from 'koffi';\nexport const v = koffi;\n" } },
    { rule: 'effects-where-owned', files: { 'src/language/__effects.ts': "import { execFileSync } from 'node:child_process';\nexport const v = execFileSync;\n" } },
    { rule: 'runtime-fs-only', files: { 'src/runtime/__violation.ts': "import * as net from 'node:net';\nexport const v = net;\n" } },
];

let dirs: string[] = [];
afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
});

function tree(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-layering-'));
    dirs.push(dir);
    for (const [file, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
    }
    copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
    // koffi must resolve to node_modules/koffi, as it does in the project.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
}

interface Violation { rule: string; from: string }

/** Runs depcruise as `npm run lint` does (the `err` reporter, whose exit code is the number of errors). */
async function cruise(dir: string): Promise<{ code: number; output: string; violations: Violation[] }> {
    const args = [DEPCRUISE, 'src', 'test', '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'];
    let code = 0;
    let output: string;
    try {
        output = (await promisify(execFile)(process.execPath, args, { cwd: dir })).stdout;
    } catch (err) {
        const e = err as { code?: unknown; stdout?: string; stderr?: string };
        if (typeof e.code !== 'number') throw new Error(`depcruise did not run: ${e.stderr ?? String(err)}`);
        code = e.code;
        output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const violations = [...output.matchAll(/^\s*error (\S+): (\S+) →/gm)].map((m) => ({ rule: m[1], from: m[2] }));
    return { code, output, violations };
}

describe('layering (dependency-cruiser)', () => {
    it('passes a tree where every module imports only what its layer allows', async () => {
        const r = await cruise(tree(CLEAN));
        expect(r.violations).toEqual([]);
        expect(r.code, r.output).toBe(0);
    }, 120_000);

    it('fails on an import of the runtime from src/plan, a cycle, and each other rule, naming the rule and the file', async () => {
        const r = await cruise(tree(Object.assign({}, CLEAN, ...BREAKS.map((b) => b.files))));
        expect(r.code, r.output).not.toBe(0);
        const breaks = (v: Violation) => BREAKS.some((b) => b.rule === v.rule && v.from in b.files);
        for (const b of BREAKS) {
            expect(r.violations.some((v) => v.rule === b.rule && v.from in b.files), `${b.rule} on ${Object.keys(b.files).join(', ')}\n${r.output}`).toBe(true);
        }
        // Nothing else fires, so the clean part of the tree stays clean; the plan's import of the runtime also leaves its layer.
        expect(r.violations.filter((v) => !breaks(v))).toEqual([{ rule: 'plan-only-core-language', from: 'src/plan/__violation.ts' }]);
    }, 120_000);
});
