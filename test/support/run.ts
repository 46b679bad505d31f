/**
 * spawnSync's result, without blocking the test worker. A worker that blocks
 * for over 60 s (a deploy under load) misses vitest's fixed RPC timeout and
 * the whole run exits 1 with "Timeout calling onTaskUpdate" though every
 * test passed: seen in CI. Anything that can take seconds runs through this.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
    status: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** Set when the command could not be started (ENOENT…). */
    error?: Error;
}

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Killed with SIGKILL after this many ms, as spawnSync's timeout does (with its signal in the result). */
    timeout?: number;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let error: Error | undefined;
        child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
        const timer = opts.timeout ? setTimeout(() => child.kill('SIGKILL'), opts.timeout) : undefined;
        child.on('error', (e) => { error = e; });
        child.on('close', (status, signal) => {
            if (timer) clearTimeout(timer);
            resolve({ status, signal, stdout, stderr, error });
        });
    });
}

/** Like execFileSync: stdout, or a rejection naming the command, its exit and its stderr. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
    const r = await run(cmd, args, opts);
    if (r.error) throw r.error;
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(' ')}: ${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
    }
    return r.stdout;
}
