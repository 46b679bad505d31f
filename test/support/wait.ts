/** Waiting in tests: a sleep, a poll until a condition holds, a private temp dir. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `f` every `stepMs` until it returns something truthy (resolved with
 * it) or `timeoutMs` passes (rejected, naming `what` and the last error `f` threw).
 */
export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, stepMs = 50): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await f();
            if (v) return v as T;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
        await sleep(stepMs);
    }
}

/** A private directory (0700 from mkdtemp) under the system temp dir. */
export function tempDir(tag: string): string {
    return mkdtempSync(path.join(tmpdir(), `vtopo-${tag}-`));
}

/**
 * One turn of the event loop. Langium's parse/check chains resolve on
 * microtasks only, so a sweep over hundreds of edits never lets timers or
 * I/O run: vitest's worker RPC then times out (fixed 60 s) and fails the
 * run though every test passed. Sweeps call this once per edit.
 */
export const breathe = () => new Promise<void>((r) => setImmediate(r));
