/** Which CPU this process runs on, for the datapath's status. */
import { readFileSync } from 'node:fs';

/** Field 39 of /proc/self/stat: the CPU the main thread (the poll loop) last ran on. */
export function currentCpu(): number | undefined {
    try {
        const st = readFileSync('/proc/self/stat', 'utf8');
        const cpu = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[36]);
        return Number.isInteger(cpu) ? cpu : undefined;
    } catch {
        return undefined;
    }
}
