/**
 * Process ownership and teardown. destroy works from persisted state after
 * any crash, so a pid read from a pidfile may by now belong to someone else:
 * we only signal a pid whose /proc/PID/cmdline still carries a path that is
 * unique to our run directory (a socket path we passed on its argv).
 */
import { readFileSync } from 'node:fs';

export function readCmdline(pid: number): string[] | undefined {
    try {
        const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!raw) return undefined; // zombie or kernel thread
        return raw.split('\0').filter((s) => s.length > 0);
    } catch {
        return undefined;
    }
}

/** True when pid is alive and its argv mentions `marker` (e.g. our QMP socket path). */
export function isOurs(pid: number | undefined, marker: string): boolean {
    if (!pid || pid <= 1 || pid === process.pid) return false;
    const argv = readCmdline(pid);
    return !!argv && argv.some((a) => a.includes(marker));
}

export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    // A zombie answers signal 0 but is gone for our purposes.
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        return state !== 'Z' && state !== 'X';
    } catch {
        return false;
    }
}

export function readPidFile(file: string): number | undefined {
    try {
        const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
        return Number.isFinite(n) && n > 1 ? n : undefined;
    } catch {
        return undefined;
    }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        if (!alive(pid)) return true;
        await sleep(50);
    }
    return !alive(pid);
}

/**
 * SIGTERM, then SIGKILL after `graceMs`, only if the pid is ours. Returns
 * true when no process of ours remains under that pid.
 */
export async function terminate(pid: number | undefined, marker: string, graceMs = 3000): Promise<boolean> {
    if (!pid || !isOurs(pid, marker)) return true;
    try { process.kill(pid, 'SIGTERM'); } catch { return true; }
    if (await waitGone(pid, graceMs)) return true;
    if (!isOurs(pid, marker)) return true;
    try { process.kill(pid, 'SIGKILL'); } catch { return true; }
    return waitGone(pid, 2000);
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
export function startTicks(pid: number): number | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[19]);
    } catch {
        return undefined;
    }
}

/** Seconds a process has been running, from /proc (no state needed). */
export function uptimeSeconds(pid: number): number | undefined {
    const ticks = startTicks(pid);
    if (ticks === undefined) return undefined;
    try {
        const up = Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
        // CLK_TCK is 100 on every Linux x86-64 kernel we run on.
        return Math.max(0, Math.round(up - ticks / 100));
    } catch {
        return undefined;
    }
}
