/** Running the OvS and iproute2 command-line tools, without a shell. */
import { spawn } from 'node:child_process';

export interface RunResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    /** Where the child's stdout/stderr go when it may outlive us (daemons that --detach). */
    stdioFd?: number;
    /**
     * The child's umask (e.g. 0o077 for daemons whose sockets and files must
     * be owner-only). Set around the synchronous spawn and restored at once.
     */
    umask?: number;
}

/** A command run inside network namespace `netns`, or where we are when it is '' (a fabric host on its own uplink). */
export function inNetns(netns: string, cmd: string, args: string[]): [string, string[]] {
    return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        const stdio = opts.stdioFd !== undefined ? (['ignore', opts.stdioFd, opts.stdioFd] as const) : (['ignore', 'pipe', 'pipe'] as const);
        let child;
        const oldMask = opts.umask !== undefined ? process.umask(opts.umask) : undefined;
        try {
            child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [...stdio] });
        } catch (e) {
            resolve({ code: null, stdout: '', stderr: (e as Error).message });
            return;
        } finally {
            if (oldMask !== undefined) process.umask(oldMask);
        }
        let stdout = '';
        let stderr = '';
        // Decoded across chunks (a message's character split between two reads stays whole).
        child.stdout?.setEncoding('utf8');
        child.stderr?.setEncoding('utf8');
        child.stdout?.on('data', (d: string) => { stdout += d; });
        child.stderr?.on('data', (d: string) => { stderr += d; });
        const timer = opts.timeoutMs
            ? setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, opts.timeoutMs)
            : undefined;
        child.on('error', (e) => {
            if (timer) clearTimeout(timer);
            resolve({ code: null, stdout, stderr: stderr + e.message });
        });
        child.on('close', (code) => {
            if (timer) clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

/** Runs and throws with the tool's own words when it fails. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) {
        throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? 'signal'}): ${(r.stderr || r.stdout).trim()}`);
    }
    return r;
}
