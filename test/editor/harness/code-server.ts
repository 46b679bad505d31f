/**
 * A private code-server (VS Code 1.100.3 in a browser) for the editor e2e:
 * its own config/data/extension dirs under `runDir`, bound to 127.0.0.1 on a
 * free port, started in its own process group so stop() also ends its file
 * watcher and extension host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runOk } from '../../../src/backends/ovs/exec.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

export interface CodeServer {
    url: string;
    pid: number;
    /** Everything code-server printed, for failure messages. */
    log(): string;
    stop(): Promise<void>;
}

/**
 * Installs code-server under .cache (no-op when present) and returns its binary.
 * Commands here run asynchronously: vitest's worker fails the run ("Timeout
 * calling onTaskUpdate") when its event loop is blocked for a minute, which
 * an npm install or a build inside execFileSync can do on a loaded 2-core host.
 */
export async function ensureCodeServer(): Promise<string> {
    const { stdout } = await runOk('bash', [path.join(ROOT, 'scripts', 'install-code-server.sh')]);
    return stdout.trim().split('\n').pop()!;
}

function dirs(runDir: string) {
    return {
        userData: path.join(runDir, 'user-data'),
        extensions: path.join(runDir, 'extensions'),
        xdg: path.join(runDir, 'xdg'),
    };
}

function env(runDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
    const d = dirs(runDir);
    return {
        ...process.env,
        XDG_CONFIG_HOME: path.join(d.xdg, 'config'),
        XDG_DATA_HOME: path.join(d.xdg, 'data'),
        XDG_CACHE_HOME: path.join(d.xdg, 'cache'),
        ...extra,
    };
}

function commonArgs(runDir: string): string[] {
    const d = dirs(runDir);
    return ['--user-data-dir', d.userData, '--extensions-dir', d.extensions];
}

export function prepareRunDir(runDir: string): void {
    const d = dirs(runDir);
    for (const p of Object.values(d)) mkdirSync(p, { recursive: true });
    mkdirSync(path.join(d.userData, 'User'), { recursive: true });
    // No marketplace, no update checks, no welcome page: nothing reaches for the internet.
    writeFileSync(path.join(d.userData, 'User', 'settings.json'), JSON.stringify({
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'security.workspace.trust.enabled': false,
        'editor.hover.delay': 300,
        'files.autoSave': 'off',
        'git.enabled': false,
        'chat.disableAIFeatures': true,
        // The DOM renderer keeps terminal text in the page, where the test can read it.
        'terminal.integrated.gpuAcceleration': 'off',
    }, null, 2));
    writeFileSync(path.join(runDir, 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
}

export async function installExtension(bin: string, runDir: string, vsix: string): Promise<void> {
    await runOk(bin, ['--config', path.join(runDir, 'config.yaml'), ...commonArgs(runDir), '--install-extension', vsix], { env: env(runDir, {}), timeoutMs: 60_000 });
}

export async function startCodeServer(bin: string, runDir: string, extraEnv: Record<string, string> = {}): Promise<CodeServer> {
    const child: ChildProcess = spawn(bin, [
        '--config', path.join(runDir, 'config.yaml'), ...commonArgs(runDir),
        '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
        '--disable-getting-started-override', '--ignore-last-opened',
    ], { env: env(runDir, extraEnv), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const pid = child.pid!;
    const stop = async () => {
        try { process.kill(-pid, 'SIGTERM'); } catch { return; }
        const end = Date.now() + 5000;
        while (Date.now() < end) {
            try { process.kill(-pid, 0); } catch { return; }
            await new Promise((r) => setTimeout(r, 100));
        }
        try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    };
    const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`code-server did not start within 60 s:\n${text}`)), 60_000);
        const onData = (b: Buffer) => {
            text += b.toString();
            const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
            if (m) { clearTimeout(timer); resolve(m[1]); }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`code-server exited (${code}):\n${text}`)); });
    }).catch(async (e) => { await stop(); throw e; });
    return { url, pid, log: () => text, stop };
}
