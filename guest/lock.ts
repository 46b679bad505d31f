/**
 * A directory lock across processes: mkdir is atomic. The owner's pid lives
 * inside, so a lock left by a crashed builder is taken over instead of
 * blocking every later run.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

function ownerAlive(dir: string): boolean {
    try {
        const pid = Number.parseInt(readFileSync(path.join(dir, 'owner'), 'utf8'), 10);
        if (!Number.isFinite(pid) || pid <= 1) return false;
        process.kill(pid, 0);
        return true;
    } catch (e) {
        // EPERM: alive but not ours to signal. No owner file yet: just created, treat as alive.
        const code = (e as NodeJS.ErrnoException).code;
        return code === 'EPERM' || code === 'ENOENT';
    }
}

export async function acquireDirLock(dir: string, onWait?: () => void, pollMs = 200): Promise<() => void> {
    let waited = false;
    let noOwnerSince = 0;
    for (;;) {
        try {
            mkdirSync(dir);
            writeFileSync(path.join(dir, 'owner'), String(process.pid));
            return () => rmSync(dir, { recursive: true, force: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        let hasOwner = true;
        try { readFileSync(path.join(dir, 'owner')); } catch { hasOwner = false; }
        if (!hasOwner) {
            // A creator gets a few seconds to write its pid before we call the lock stale.
            if (!noOwnerSince) noOwnerSince = Date.now();
            if (Date.now() - noOwnerSince > 5000) rmSync(dir, { recursive: true, force: true });
        } else if (!ownerAlive(dir)) {
            rmSync(dir, { recursive: true, force: true });
            continue;
        }
        if (!waited) { waited = true; onWait?.(); }
        await new Promise((r) => setTimeout(r, pollMs));
    }
}
