/**
 * Ctrl-C (or a kill) during a bench: Node exits without running `finally`,
 * which left the switch, testpmd, QEMU guests or reserved hugepages behind,
 * in their own process groups where the terminal's signal does not reach.
 * A run registers its cleanup here for as long as it holds something; a
 * signal runs the registered cleanups, then exits.
 */
const pending = new Set<() => unknown>();
let installed = false;

async function interrupted(sig: string): Promise<void> {
    console.error(`${sig}: cleaning up before exit`);
    for (const f of [...pending]) {
        pending.delete(f);
        try {
            await f();
        } catch (e) {
            console.error(`cleanup: ${(e as Error).message}`);
        }
    }
    process.exit(130);
}

/** Registers `cleanup` to run on SIGINT/SIGTERM/SIGHUP; call the returned function once it has run normally. */
export function onInterrupt(cleanup: () => unknown): () => void {
    if (!installed) {
        installed = true;
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void interrupted(sig));
    }
    pending.add(cleanup);
    return () => pending.delete(cleanup);
}
