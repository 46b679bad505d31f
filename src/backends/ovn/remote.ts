/**
 * The part of an `ssh` host, run there by vtopo's own CLI over OpenSSH
 * (issue 20): the file goes to `~/.vtopo/<topology>.vtopo` on that host and
 * `vtopo deploy|destroy FILE --host H` runs next to it, so the host plans
 * its part from the same file as we do and keeps its own state. Nothing is
 * installed or started there but what that vtopo itself does.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { FabricHostPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';

const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=15'];
const DEPLOY_TIMEOUT_MS = 15 * 60_000;
const REACH_TIMEOUT_MS = 8000;

/** The ssh client command (VTOPO_SSH, split at blanks), with options that keep it from ever prompting. */
function sshArgv(): string[] {
    const words = (process.env.VTOPO_SSH ?? '').trim().split(/\s+/).filter(Boolean);
    return [...(words.length ? words : ['ssh']), ...SSH_OPTIONS];
}

/** The command that runs vtopo on the remote host (VTOPO_REMOTE_VTOPO), as its shell reads it. */
function remoteCli(): string {
    return (process.env.VTOPO_REMOTE_VTOPO ?? '').trim() || 'vtopo';
}

/** A word for the remote shell, whatever it holds. */
export function shellQuote(s: string): string {
    return /^[A-Za-z0-9_./@:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Where the file lives on the remote host, relative to the ssh user's home. */
export function remoteFile(topology: string): string {
    return `.vtopo/${topology.replace(/[^A-Za-z0-9_-]/g, '_')}.vtopo`;
}

export interface RemoteRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

type RunOptions = { input?: string; timeoutMs?: number; onLine?: (line: string) => void };

/**
 * Runs one shell command on host `h` over ssh; `onLine` gets its stderr line by line as it comes. A connect
 * that timed out is tried once more: right after a host's address moved between its uplink and br-phy (our
 * own deploy and destroy do that), peers may still send to the old MAC until their neighbour entry expires,
 * which outlasts one ConnectTimeout but not two. A refused or failed login is not retried.
 */
export async function runOn(h: FabricHostPlan, command: string, opts: RunOptions = {}): Promise<RemoteRun> {
    const r = await runOnce(h, command, opts);
    return r.code === 255 && /Connection timed out|Operation timed out/.test(r.stderr) ? runOnce(h, command, opts) : r;
}

function runOnce(h: FabricHostPlan, command: string, opts: RunOptions): Promise<RemoteRun> {
    if (!h.ssh) throw new VtopoError(`host ${h.name} has no ssh address`, `add \`ssh "user@address"\` to host ${h.name}`, 'internal');
    const [cmd, ...args] = sshArgv();
    return new Promise((resolve) => {
        const child = spawn(cmd, [...args, h.ssh!, command], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let partial = '';
        const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? DEPLOY_TIMEOUT_MS);
        child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
            stderr += d;
            partial += d;
            const lines = partial.split('\n');
            partial = lines.pop() ?? '';
            for (const l of lines) if (l.trim()) opts.onLine?.(l);
        });
        child.on('error', (e) => {
            clearTimeout(timer);
            resolve({ code: null, stdout, stderr: `${stderr}${e.message}` });
        });
        child.on('close', (code) => {
            clearTimeout(timer);
            if (partial.trim()) opts.onLine?.(partial);
            resolve({ code, stdout, stderr });
        });
        child.stdin.on('error', () => { /* the far end closed early: its exit code says why */ });
        child.stdin.end(opts.input ?? '');
    });
}

/** ssh's own failures (exit 255): the host was not reached, as opposed to vtopo failing there. */
function unreached(h: FabricHostPlan, r: RemoteRun): VtopoError {
    const why = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
    return new VtopoError(`host ${h.name} (ssh ${h.ssh}) cannot be reached: ${why}`,
        `check that \`ssh ${h.ssh} true\` works from here without a password (a key in ssh-agent or set vtopo.sshCommand / VTOPO_SSH)`, 'host-unreachable');
}

/** vtopo failing on the host: its own error lines, which name the cause and the fix. */
function failedThere(h: FabricHostPlan, what: string, r: RemoteRun, file: string): VtopoError {
    if (r.code === 127 || (/command not found|No such file or directory/.test(r.stderr.split('\n').slice(-3).join('\n')) && !r.stdout)) {
        return new VtopoError(`host ${h.name}: vtopo did not run there (${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`})`,
            `install vtopo on ${h.ssh}, or set vtopo.remoteCli / VTOPO_REMOTE_VTOPO to the command that runs it there`, 'host-remote-failed');
    }
    const lines = r.stderr.trim().split('\n').filter((l) => /^(error|fix|vtopo)\b|error:/i.test(l)).slice(-4);
    return new VtopoError(`host ${h.name}: \`vtopo ${what}\` failed there (exit ${r.code}): ${(lines.length ? lines : r.stderr.trim().split('\n').slice(-3)).join(' / ')}`,
        `fix what it names, then run \`vtopo deploy\` again (on ${h.ssh}, \`vtopo status ~/${file} --host ${h.name}\` shows that host's part)`, 'host-remote-failed');
}

/** Copies the file to the host and deploys the host's part there; resolves with the number of actions it applied. */
export async function deployOn(h: FabricHostPlan, topology: string, sourceFile: string, onLine: (line: string) => void): Promise<number> {
    const file = remoteFile(topology);
    const put = await runOn(h, `mkdir -p .vtopo && chmod 700 .vtopo && cat > ${shellQuote(file)}`, { input: readFileSync(sourceFile, 'utf8'), timeoutMs: 60_000 });
    if (put.code === 255 || put.code === null) throw unreached(h, put);
    if (put.code !== 0) throw failedThere(h, 'deploy (copying the file)', put, file);
    const r = await runOn(h, `${remoteCli()} deploy ${shellQuote(file)} --host ${shellQuote(h.name)} --json`, { onLine });
    if (r.code === 255 || r.code === null) throw unreached(h, r);
    if (r.code !== 0) throw failedThere(h, `deploy ${file} --host ${h.name}`, r, file);
    try {
        return (JSON.parse(r.stdout) as { applied?: unknown[] }).applied?.length ?? 0;
    } catch {
        throw new VtopoError(`host ${h.name}: vtopo deploy there printed no result`, `run \`vtopo deploy ~/${file} --host ${h.name}\` on ${h.ssh} to see why`, 'host-remote-failed');
    }
}

/** Destroys the host's part there and removes the copied file; a host that never got the file has nothing to destroy. */
export async function destroyOn(h: FabricHostPlan, topology: string, onLine: (line: string) => void): Promise<void> {
    const file = remoteFile(topology);
    const q = shellQuote(file);
    const r = await runOn(h, `if [ -f ${q} ]; then ${remoteCli()} destroy ${q} --host ${shellQuote(h.name)} && rm -f ${q}; fi`, { onLine, timeoutMs: 5 * 60_000 });
    if (r.code === 255 || r.code === null) throw unreached(h, r);
    if (r.code !== 0) throw failedThere(h, `destroy --host ${h.name}`, r, file);
}

/** Whether the host answers over ssh now (for status: a bounded wait). */
export async function reachable(h: FabricHostPlan): Promise<{ ok: boolean; error?: string }> {
    const r = await runOn(h, 'true', { timeoutMs: REACH_TIMEOUT_MS });
    return r.code === 0 ? { ok: true } : { ok: false, error: r.stderr.trim().split('\n').pop() || `ssh exit ${r.code}` };
}
