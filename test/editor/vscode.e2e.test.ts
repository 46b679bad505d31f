/**
 * The extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3)
 * with only our .vsix installed, driven in Debian's chromium. Screenshots of
 * every step land in test-artifacts/editor/.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCodeServer, installExtension, prepareRunDir, startCodeServer, type CodeServer } from './harness/code-server.js';
import { cursorLine, focusProblems, gotoLineEnd, graphFrame, openFile, openWorkbench, runCommand, screenshot, waitForProblem, waitForTree, type Workbench } from './harness/workbench.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'editor');
const EXAMPLE = 'two-vms.vtopo';

let runDir = '';
let workspace = '';
let server: CodeServer | undefined;
let wb: Workbench | undefined;

function packageVsix(dir: string): string {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
    const vsix = path.join(dir, 'vtopo.vsix');
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package',
        '--allow-missing-repository', '--skip-license', '-o', vsix], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    return vsix;
}

function lineOf(file: string, needle: string): number {
    const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle));
    if (i < 0) throw new Error(`${needle} not in ${file}`);
    return i + 1;
}

describe('vtopo in VS Code (code-server + chromium)', () => {
    beforeAll(async () => {
        rmSync(ARTIFACTS, { recursive: true, force: true });
        mkdirSync(ARTIFACTS, { recursive: true });
        const bin = ensureCodeServer();
        runDir = mkdtempSync(path.join(tmpdir(), 'vtopo-e2e-'));
        workspace = path.join(runDir, 'ws');
        mkdirSync(workspace);
        copyFileSync(path.join(ROOT, 'examples', EXAMPLE), path.join(workspace, EXAMPLE));
        prepareRunDir(runDir);
        installExtension(bin, runDir, packageVsix(runDir));
        server = await startCodeServer(bin, runDir);
        wb = await openWorkbench(server.url, workspace, path.join(runDir, 'chromium'));
    }, 300_000);

    afterAll(async () => {
        if (wb) await screenshot(wb.page, ARTIFACTS, 'zz-final').catch(() => undefined);
        await wb?.close().catch(() => undefined);
        await server?.stop();
        if (runDir) rmSync(runDir, { recursive: true, force: true });
    }, 60_000);

    it('shows a diagnostic for an injected error and clears it when fixed', async () => {
        const page = wb!.page;
        await openFile(page, EXAMPLE);
        await focusProblems(page);
        await screenshot(page, ARTIFACTS, '01-opened');
        // A link to a bridge that does not exist: the checker's unresolved-reference.
        await page.locator('.monaco-editor .view-lines').first().click();
        await gotoLineEnd(page, lineOf(path.join(workspace, EXAMPLE), 'bridge br0 {'));
        await page.keyboard.press('Enter');
        await page.keyboard.type('link br0 nowhere');
        const rows = await waitForProblem(page, (r) => r.some((t) => t.includes('nowhere')), 30_000, 'the unresolved-reference diagnostic');
        expect(rows.join('\n')).toMatch(/unresolved-reference|nowhere/);
        await screenshot(page, ARTIFACTS, '02-diagnostic');
        await page.keyboard.press('Control+Shift+K');
        await waitForProblem(page, (r) => !r.some((t) => t.includes('nowhere')), 30_000, 'the diagnostic to clear');
        await screenshot(page, ARTIFACTS, '03-fixed');
    }, 120_000);

    it('lists the topology in the vtopo tree and draws the graph, whose nodes reveal their declaration', async () => {
        const page = wb!.page;
        await waitForTree(page, (r) => r.some((t) => t.startsWith('two_vms')) && r.some((t) => /^a\b/.test(t)) && r.some((t) => /^b\b/.test(t)), 30_000, 'two_vms with VMs a and b');
        await runCommand(page, 'vtopo: Show Topology Graph');
        const frame = graphFrame(page);
        await frame.locator('g.node[data-id="vm:a"]').waitFor({ timeout: 30_000 });
        expect(await frame.locator('g.node').count()).toBe(3);
        expect(await frame.locator('g.edge').count()).toBe(2);
        await screenshot(page, ARTIFACTS, '04-graph');
        await frame.locator('g.node[data-id="vm:b"]').click();
        const want = lineOf(path.join(workspace, EXAMPLE), 'vm b {');
        const end = Date.now() + 10_000;
        while (Date.now() < end && (await cursorLine(page)) !== want) await page.waitForTimeout(200);
        expect(await cursorLine(page)).toBe(want);
    }, 120_000);
});
