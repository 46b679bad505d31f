/**
 * The extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3)
 * with only our .vsix installed, driven in Debian's chromium. Screenshots of
 * every step land in test-artifacts/editor/.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOk } from '../../src/backends/ovs/exec.js';
import { run } from '../support/run.js';
import { ensureCodeServer, installExtension, prepareRunDir, startCodeServer, type CodeServer } from './harness/code-server.js';
import { cursorLine, focusProblems, gotoLineEnd, graphFrame, notifications, openFile, openWorkbench, runCommand, screenshot, waitForProblem, waitForTree, type Workbench } from './harness/workbench.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'editor');
const EXAMPLE = 'two-vms.vtopo';
/** The deploy step deploys the same example: two guests on one embedded bridge. */
const DEPLOYED = EXAMPLE;
const TOPOLOGY = 'two_vms';

let runDir = '';
/** VTOPO_RUN_ROOT of the extension's runtime: private, so nothing here meets another test's deployment. */
let runRoot = '';
let workspace = '';
let server: CodeServer | undefined;
let wb: Workbench | undefined;

async function packageVsix(dir: string): Promise<string> {
    await runOk(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
    const vsix = path.join(dir, 'vtopo.vsix');
    await runOk(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package',
        '--allow-missing-repository', '--skip-license', '-o', vsix], { cwd: ROOT });
    return vsix;
}

interface DeployedVm { name: string; pidFile: string }
function deployedVms(topology: string): DeployedVm[] {
    const state = JSON.parse(readFileSync(path.join(runRoot, topology, 'state', 'state.json'), 'utf8')) as { deployed?: { vms: DeployedVm[] } };
    return state.deployed?.vms ?? [];
}

function pidAlive(pid: number): boolean {
    try { process.kill(pid, 0); } catch { return false; }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
}

/** Waits for a toast matching `re` (other than `not`, an earlier result still on screen). */
async function waitForToast(page: import('playwright-core').Page, re: RegExp, timeoutMs: number, seen: string[] = [], not?: string): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        const ts = await notifications(page);
        seen.push(...ts.filter((t) => !seen.includes(t)));
        const hit = ts.find((t) => re.test(t) && t !== not);
        if (hit) return hit;
        await page.waitForTimeout(250);
    }
    throw new Error(`timed out waiting for a notification matching ${re}; seen:\n${seen.join('\n---\n')}`);
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
        const bin = await ensureCodeServer();
        runDir = mkdtempSync(path.join(tmpdir(), 'vtopo-e2e-'));
        workspace = path.join(runDir, 'ws');
        mkdirSync(workspace);
        copyFileSync(path.join(ROOT, 'examples', EXAMPLE), path.join(workspace, EXAMPLE));
        prepareRunDir(runDir);
        await installExtension(bin, runDir, await packageVsix(runDir));
        runRoot = path.join(runDir, 'run');
        server = await startCodeServer(bin, runDir, {
            VTOPO_RUN_ROOT: runRoot,
            // Reuse the guest image other tests built (same inputs, same hash): building one takes minutes.
            VTOPO_CACHE_DIR: process.env.VTOPO_CACHE_DIR ?? path.join(ROOT, '.cache'),
        });
        wb = await openWorkbench(server.url, workspace, path.join(runDir, 'chromium'));
    }, 300_000);

    afterAll(async () => {
        if (wb) await screenshot(wb.page, ARTIFACTS, 'zz-final').catch(() => undefined);
        await wb?.close().catch(() => undefined);
        await server?.stop();
        // Whatever the editor left deployed (a failed step) goes away through the CLI.
        if (runRoot && existsSync(runRoot) && readdirSync(runRoot).length) {
            try {
                execFileSync(process.execPath, [path.join(ROOT, 'out', 'cli.cjs'), 'destroy', path.join(workspace, DEPLOYED)],
                    { env: { ...process.env, VTOPO_RUN_ROOT: runRoot }, stdio: 'inherit', timeout: 60_000 });
            } catch { /* reported by the failing step */ }
        }
        if (runDir) rmSync(runDir, { recursive: true, force: true });
    }, 60_000);

    it('the installed extension has what the .vsix carries: koffi\'s prebuilt binary loads, the guest image scripts are there', () => {
        const ext = readdirSync(path.join(runDir, 'extensions')).find((d) => d.startsWith('vtopo.vtopo-'))!;
        const koffi = path.join(runDir, 'extensions', ext, 'node_modules', 'koffi');
        // cwd / and no NODE_PATH: nothing from this checkout can be picked up.
        const out = execFileSync(process.execPath, ['-e', 'const k = require(process.argv[1]); console.log(typeof k.load(null).func)', koffi],
            { cwd: '/', env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
        expect(out.trim()).toBe('function');
        // The default guest image is built from these on the first deploy.
        expect(existsSync(path.join(runDir, 'extensions', ext, 'guest', 'rootfs', 'init'))).toBe(true);
    });

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
        await page.keyboard.press('Control+S');
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

    it('deploys from the palette with progress, shows running VMs in the tree, a killed guest as a diagnostic on its vm line, then destroys', async () => {
        const page = wb!.page;
        const file = path.join(workspace, DEPLOYED);
        await runCommand(page, 'View: Close All Editor Groups');
        await openFile(page, DEPLOYED);
        await runCommand(page, 'vtopo: Plan (show actions)');
        await page.locator('.editor-instance .view-lines', { hasText: 'start-vm' }).first().waitFor({ timeout: 60_000 });
        await screenshot(page, ARTIFACTS, '05-plan');
        const deployStart = Date.now();
        await runCommand(page, 'vtopo: Deploy');
        const seen: string[] = [];
        await waitForToast(page, new RegExp(`vtopo: deploying ${TOPOLOGY}`), 30_000, seen);
        await screenshot(page, ARTIFACTS, '06-deploying');
        const done = await waitForToast(page, new RegExp(`vtopo: deployed ${TOPOLOGY}|vtopo deploy failed`), 300_000, seen);
        expect(done, seen.join('\n---\n')).toContain(`deployed ${TOPOLOGY} — 2/2 VMs running`);
        console.log(`[editor e2e] Deploy from the palette to "deployed": ${((Date.now() - deployStart) / 1000).toFixed(1)} s`);
        await waitForTree(page, (r) => r.some((t) => /^a running/.test(t)) && r.some((t) => /^b running/.test(t))
            && r.filter((t) => /^eth0 up/.test(t)).length >= 2, 60_000, 'VMs a and b running, their ports up');
        await screenshot(page, ARTIFACTS, '07-deployed');

        await runCommand(page, 'vtopo: Verify Connectivity');
        const verified = await waitForToast(page, /vtopo: all \d+ pairs reachable|pairs unreachable|verify failed/, 120_000, seen);
        expect(verified).toMatch(/all 2 pairs reachable/);

        // Capture on b.eth0 while Verify pings across it: the embedded datapath mirrors the port into a pcap file.
        await runCommand(page, 'vtopo: Capture on a Port');
        await page.locator('.quick-input-widget input[placeholder="Capture on which port?"]').waitFor();
        await page.keyboard.type('b.eth0');
        await page.keyboard.press('Enter');
        await page.locator('.notification-toast', { hasText: 'capturing on b.eth0' }).waitFor({ timeout: 30_000 });
        await runCommand(page, 'vtopo: Verify Connectivity');
        const again = await waitForToast(page, /vtopo: all \d+ pairs reachable|pairs unreachable|verify failed/, 120_000, seen, verified);
        expect(again).toMatch(/all 2 pairs reachable/);
        await screenshot(page, ARTIFACTS, '07b-capturing');
        await runCommand(page, 'vtopo: Stop Capture');
        const wrote = await waitForToast(page, /vtopo: wrote .*\.pcap|vtopo capture failed/, 30_000, seen);
        const packets = Number(/\((\d+) packets\)/.exec(wrote)?.[1] ?? -1);
        expect(packets, wrote).toBeGreaterThan(0);
        const pcap = readdirSync(workspace).find((f) => f.startsWith('b.eth0-') && f.endsWith('.pcap'));
        expect(pcap).toBeTruthy();
        // Classic pcap magic (either byte order): a file tcpdump/Wireshark open.
        expect(readFileSync(path.join(workspace, pcap!)).readUInt32LE(0).toString(16)).toMatch(/^(a1b2c3d4|d4c3b2a1|a1b23c4d)$/);

        // Hovering a deployed VM's name adds its live state below the static text.
        await page.locator('.view-lines .view-line', { hasText: 'vm b {' }).locator('span', { hasText: /^b$/ }).first().hover();
        await page.locator('.monaco-hover-content', { hasText: 'running (tcg)' }).first().waitFor({ timeout: 30_000 });
        await screenshot(page, ARTIFACTS, '08-live-hover');
        await page.mouse.move(5, 5);
        await page.keyboard.press('Escape');

        // The guest console: a terminal attached to b's serial console socket, a shell in the guest.
        await runCommand(page, 'vtopo: Open Guest Console');
        await page.locator('.quick-input-widget input[placeholder="Console of which guest?"]').waitFor();
        await page.keyboard.type('b');
        await page.keyboard.press('Enter');
        await page.locator('.xterm-rows', { hasText: 'console of b' }).first().waitFor({ timeout: 30_000 });
        await page.keyboard.type('echo vtopo-$((6*7))');
        await page.keyboard.press('Enter');
        await page.locator('.xterm-rows', { hasText: 'vtopo-42' }).first().waitFor({ timeout: 30_000 });
        await screenshot(page, ARTIFACTS, '08-console');
        // The editor's console holds the same lock as `vtopo console`: a CLI console on b is refused meanwhile.
        const cli = await run(process.execPath, [path.join(ROOT, 'out', 'cli.cjs'), 'console', file, 'b'], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot }, timeout: 60_000 });
        expect(cli.status, cli.stdout + cli.stderr).toBe(1);
        expect(cli.stderr).toMatch(/another console is attached to vm b \(pid \d+\)/);

        // Kill guest a as its owner would see it: by the pid in its pidfile, checked to be our QEMU.
        const vmA = deployedVms(TOPOLOGY).find((v) => v.name === 'a')!;
        const pid = Number(readFileSync(vmA.pidFile, 'utf8').trim());
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(runRoot);
        await focusProblems(page);
        const killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
        const rows = await waitForProblem(page, (r) => r.some((t) => t.includes('guest a exited')), 60_000, 'the guest-exited live diagnostic');
        console.log(`[editor e2e] guest killed → live diagnostic in the Problems panel: ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
        const row = rows.find((t) => t.includes('guest a exited'))!;
        expect(row).toMatch(/SIGKILL|signal 9/);
        expect(row).toContain(`[Ln ${lineOf(file, 'vm a {')},`);
        await waitForTree(page, (r) => r.some((t) => /^a crashed/.test(t)) && r.some((t) => /^b running/.test(t)), 30_000, 'a crashed, b running');
        await screenshot(page, ARTIFACTS, '09-guest-killed');

        await runCommand(page, 'vtopo: Show Topology Graph');
        const frame = graphFrame(page);
        await frame.locator('g.node.state-down[data-id="vm:a"]').waitFor({ timeout: 30_000 });
        await frame.locator('g.node.state-up[data-id="vm:b"]').waitFor({ timeout: 30_000 });
        await frame.locator('g.edge.state-down[data-id="port:a.eth0"]').waitFor({ timeout: 30_000 });
        await frame.locator('g.edge.state-up[data-id="port:b.eth0"]').waitFor({ timeout: 30_000 });
        await screenshot(page, ARTIFACTS, '10-graph-live');

        const vmB = deployedVms(TOPOLOGY).find((v) => v.name === 'b')!;
        const pidB = Number(readFileSync(vmB.pidFile, 'utf8').trim());
        await runCommand(page, 'vtopo: Destroy');
        await waitForToast(page, new RegExp(`vtopo: destroyed ${TOPOLOGY}`), 120_000, seen);
        await waitForProblem(page, (r) => !r.some((t) => t.includes('guest a exited')), 30_000, 'the live diagnostic to clear');
        await waitForTree(page, (r) => r.some((t) => t.startsWith(`${TOPOLOGY} not deployed`)), 30_000, `${TOPOLOGY} not deployed`);
        expect(pidAlive(pidB), 'guest b still running after Destroy').toBe(false);
        expect(existsSync(path.join(runRoot, TOPOLOGY))).toBe(false);
        await screenshot(page, ARTIFACTS, '11-destroyed');

        await runCommand(page, 'vtopo: Export');
        // Typed, not clicked: with four formats listed, a click on the 'qemu' row once exported the first one (ovs-vsctl).
        await page.locator('.quick-input-widget input[placeholder="Export as"]').waitFor();
        await page.keyboard.type('qemu');
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'QEMU command lines' }).first().waitFor();
        await page.keyboard.press('Enter');
        await page.locator('.editor-instance .view-lines', { hasText: 'qemu-system-x86_64' }).first().waitFor({ timeout: 30_000 });
        await screenshot(page, ARTIFACTS, '12-export-qemu');
    }, 480_000);
});
