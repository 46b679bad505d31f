import { spawn } from 'node:child_process';
import { selfExecArgv } from '../../src/host/self-exec.js';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the `vtopo` CLI as a user would (its own process) against a private VTOPO_RUN_ROOT. */
export function runVtopo(runRoot: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const [node, ...pre] = selfExecArgv();
    return new Promise((resolve) => {
        const c = spawn(node, [...pre, ...args], { env: { ...process.env, VTOPO_RUN_ROOT: runRoot, ...env } });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => { stdout += d; });
        c.stderr.on('data', (d) => { stderr += d; });
        c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/** `vtopo ARGS --json`, parsed; the exit code and output in the error when it is not JSON. */
export async function runVtopoJson<T>(runRoot: string, args: string[]): Promise<T> {
    const r = await runVtopo(runRoot, [...args, '--json']);
    try {
        return JSON.parse(r.stdout) as T;
    } catch {
        throw new Error(`vtopo ${args.join(' ')} --json exited ${r.code}: ${r.stdout}\n${r.stderr}`);
    }
}
