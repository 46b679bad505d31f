/** What a topology may leave on the host: processes mentioning its run dir, its files, mounts, taps. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export function processesMentioning(marker: string): { pid: number; cmd: string }[] {
    const out: { pid: number; cmd: string }[] = [];
    for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
        try {
            const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
            if (cmd.includes(marker)) out.push({ pid: Number(d), cmd });
        } catch { /* exited meanwhile */ }
    }
    return out;
}

export function mountsUnder(dir: string): string[] {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(dir));
}

export function leftovers(runDir: string, taps: string[] = []): string[] {
    const out: string[] = [];
    for (const p of processesMentioning(runDir)) out.push(`process ${p.pid}: ${p.cmd.slice(0, 120)}`);
    if (existsSync(runDir)) out.push(`directory ${runDir}`);
    for (const m of mountsUnder(runDir)) out.push(`mount ${m}`);
    for (const t of taps) if (existsSync(`/sys/class/net/${t}`)) out.push(`interface ${t}`);
    return out;
}
