/** `vtopo check` as a user runs it: a child process, its stdout/stderr and exit code. */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/run.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { expectedCodes } from './helpers.js';

const LINE = /^(.+):(\d+):(\d+) (error|warning|info|hint) ([a-z0-9-]+) (.+)$/;
const [node, ...prefix] = selfExecArgv();
const tmp = mkdtempSync(path.join(tmpdir(), 'vtopo-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function vtopo(...args: string[]) {
    const r = await run(node, [...prefix, 'check', ...args], { timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const INVALID = readdirSync('test/fixtures/invalid').filter((f) => f.endsWith('.vtopo')).map((f) => `test/fixtures/invalid/${f}`);
const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.vtopo')).map((f) => `examples/${f}`);

describe('vtopo check', async () => {
    it('exits 0 on the examples and prints only well-formed lines', async () => {
        const r = await vtopo(...EXAMPLES);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        for (const line of r.stdout.split('\n').filter(Boolean)) expect(line).toMatch(LINE);
        expect(r.stdout).not.toMatch(/ error /);
        expect(r.stderr).toMatch(/^\d+ files: 0 errors/m);
    });

    it('prints file:line:col severity code message for each diagnostic of the invalid corpus and exits 1', async () => {
        const r = await vtopo(...INVALID);
        expect(r.code).toBe(1);
        const lines = r.stdout.split('\n').filter(Boolean);
        for (const line of lines) expect(line).toMatch(LINE);
        for (const file of INVALID) {
            const codes = new Set(lines.filter((l) => l.startsWith(`${file}:`)).map((l) => LINE.exec(l)![5]));
            expect([...codes].sort(), file).toEqual(expectedCodes(file));
        }
    });

    it('--json prints an array of {file, line, column, severity, code, message} with 1-based positions', async () => {
        const r = await vtopo('--json', 'test/fixtures/invalid/typos.vtopo');
        expect(r.code).toBe(1);
        const out = JSON.parse(r.stdout) as Record<string, unknown>[];
        expect(out.length).toBeGreaterThan(0);
        for (const d of out) {
            expect(Object.keys(d).sort()).toEqual(['code', 'column', 'file', 'line', 'message', 'severity']);
            expect(d.file).toBe('test/fixtures/invalid/typos.vtopo');
            expect(['error', 'warning', 'info', 'hint']).toContain(d.severity);
        }
        // `    memroy 256M` is line 8 of the file, the word starts in column 5.
        expect(out).toContainEqual(expect.objectContaining({ line: 8, column: 5, severity: 'error', code: 'syntax-error' }));
        expect(await vtopo('--json', 'examples/two-vms.vtopo')).toMatchObject({ code: 0, stdout: '[]\n' });
    });

    it('exits 0 when there are only warnings', async () => {
        const file = path.join(tmp, 'warn.vtopo');
        writeFileSync(file, 'topology w { host { cores 0-1 memory 1G } bridge br0 bridge spare vm a { port e { bridge br0 } } }\n');
        const r = await vtopo(file);
        expect(r.stdout).toMatch(/ warning bridge-unused /);
        expect(r.code).toBe(0);
    });

    it('reports a missing, a directory or an unreadable file as an error with a clear message, never a stack trace', async () => {
        const unreadable = path.join(tmp, 'secret.vtopo');
        writeFileSync(unreadable, 'topology s { }');
        chmodSync(unreadable, 0o000);
        const canRead = process.getuid?.() === 0; // root reads anything
        const r = await vtopo('no/such.vtopo', 'examples', unreadable, 'examples/two-vms.vtopo');
        expect(r.code).toBe(1);
        expect(r.stdout).toContain('no/such.vtopo:1:1 error file-unreadable cannot read no/such.vtopo: no such file; check the path');
        expect(r.stdout).toContain('examples:1:1 error file-unreadable cannot read examples: it is a directory; name a .vtopo file');
        if (!canRead) expect(r.stdout).toContain(`${unreadable}:1:1 error file-unreadable cannot read ${unreadable}: permission denied`);
        expect(r.stdout + r.stderr).not.toMatch(/\n\s+at |Error:|TopologyLoadError/);
        const j = await vtopo('--json', 'no/such.vtopo');
        expect(j.code).toBe(1);
        expect(JSON.parse(j.stdout)).toEqual([{ file: 'no/such.vtopo', line: 1, column: 1, severity: 'error', code: 'file-unreadable', message: 'cannot read no/such.vtopo: no such file; check the path' }]);
    });

    it('explains its usage when given no file or an unknown option', async () => {
        for (const args of [[], ['--yaml', 'examples/two-vms.vtopo']]) {
            const r = await vtopo(...args);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain('usage: vtopo check FILE... [--json]');
            expect(r.stderr).not.toMatch(/\n\s+at /);
        }
        expect(await vtopo('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: vtopo check') });
    });

    it('runs from the bundle as `npx vtopo` does (bin/vtopo.cjs → out/cli.cjs)', async () => {
        if (!existsSync('out/cli.cjs')) await run('node', ['scripts/build.mjs']);
        const r = await run(process.execPath, ['bin/vtopo.cjs', 'check', 'examples/two-vms.vtopo', 'test/fixtures/invalid/links.vtopo'], { timeout: 60_000 });
        expect(r.status, r.stderr).toBe(1);
        expect(r.stdout).toMatch(/^test\/fixtures\/invalid\/links\.vtopo:\d+:\d+ error link-self /m);
    });
});
