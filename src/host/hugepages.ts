/**
 * Hugepages a topology declares: reserved through sysfs and mounted as a
 * private hugetlbfs under the run directory; destroy gives back exactly
 * what was added.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { HostPlan } from '../core/plan.js';
import { VtopoError } from '../core/api.js';
import type { HugepageReservation } from './state.js';

const sysDir = (kb: number) => `/sys/kernel/mm/hugepages/hugepages-${kb}kB`;
const readNum = (file: string) => Number.parseInt(readFileSync(file, 'utf8').trim(), 10);

export function isMounted(dir: string): boolean {
    try {
        return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
    } catch {
        return false;
    }
}

export function reserveHugepages(hp: NonNullable<HostPlan['hugepages']>, onRecord: (r: HugepageReservation) => void): HugepageReservation {
    const kb = hp.pageSizeBytes / 1024;
    const size = kb >= 1024 * 1024 ? `${kb / 1024 / 1024}G` : `${kb / 1024}M`;
    const dir = sysDir(kb);
    if (!existsSync(dir)) {
        throw new VtopoError(
            `this kernel offers no ${size} hugepages (${dir} is missing)`,
            `use \`hugepages N x 2M\` (or a size listed in /sys/kernel/mm/hugepages), or drop \`hugepages\` to back guests with memfd`,
            'no-hugepages',
        );
    }
    const nrFile = `${dir}/nr_hugepages`;
    const before = readNum(nrFile);
    const free = readNum(`${dir}/free_hugepages`);
    // Free pages left by others are not ours to take: we add our own on top.
    const want = before + hp.count;
    const r: HugepageReservation = { sizeKb: kb, added: 0, mountDir: hp.mountDir, mounted: false };
    try {
        writeFileSync(nrFile, String(want));
    } catch (err) {
        throw new VtopoError(
            `cannot reserve ${hp.count} hugepages of ${size}: writing ${nrFile} failed (${(err as NodeJS.ErrnoException).code ?? err})`,
            'run vtopo as root, or reserve them beforehand (sysctl vm.nr_hugepages) and drop `hugepages` from the file',
            'no-hugepages',
        );
    }
    const got = readNum(nrFile) - before;
    r.added = Math.max(0, got);
    onRecord(r);
    if (got < hp.count) {
        releaseHugepages(r);
        throw new VtopoError(
            `the kernel gave only ${Math.max(0, got)} of the ${hp.count} hugepages of ${size} asked for (${free} were free before; memory is short or fragmented)`,
            `declare fewer hugepages, free memory, or reserve them at boot (kernel command line hugepages=${hp.count})`,
            'no-hugepages',
        );
    }
    mkdirSync(hp.mountDir, { recursive: true, mode: 0o700 });
    if (!isMounted(hp.mountDir)) {
        try {
            execFileSync('mount', ['-t', 'hugetlbfs', '-o', `pagesize=${size},mode=0700`, 'vtopo-hugetlbfs', hp.mountDir], { stdio: 'pipe' });
        } catch (err) {
            releaseHugepages(r);
            throw new VtopoError(
                `cannot mount hugetlbfs on ${hp.mountDir}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
                'run vtopo as root (mounting needs CAP_SYS_ADMIN), or drop `hugepages` from the file',
                'no-hugepages',
            );
        }
    }
    r.mounted = true;
    onRecord(r);
    return r;
}

/**
 * Another count of the same pages: nr_hugepages moves by the difference and
 * the mount stays, so guests with their memory on it keep running (a
 * release and a new reservation would unmount it under them). Shrinking
 * frees what is free now; pages still in use go back when their user
 * exits, as the kernel does for any lowered nr_hugepages.
 */
export function resizeHugepages(
    r: HugepageReservation,
    hp: NonNullable<HostPlan['hugepages']>,
    onRecord: (r: HugepageReservation) => void,
    count: PageCount = sysfsCount(r.sizeKb),
): HugepageReservation {
    const delta = hp.count - r.added;
    if (delta === 0) return r;
    const before = count.read();
    try {
        count.write(Math.max(0, before + delta));
    } catch (err) {
        throw new VtopoError(
            `cannot change the lab's hugepages from ${r.added} to ${hp.count}: writing ${count.name} failed (${(err as NodeJS.ErrnoException).code ?? err})`,
            'run vtopo as root, or keep the hugepages line as it was',
            'no-hugepages',
        );
    }
    const moved = count.read() - before;
    const next = { ...r, added: Math.max(0, r.added + moved) };
    onRecord(next);
    if (delta > 0 && moved < delta) {
        // Back to what we had: the guests on the old count keep running.
        const undo = resizeHugepages(next, { ...hp, count: r.added }, onRecord, count);
        throw new VtopoError(
            `the kernel gave only ${Math.max(0, moved)} of the ${delta} more hugepages asked for (memory is short or fragmented); the lab keeps its ${undo.added}`,
            `declare fewer hugepages, free memory, or reserve them at boot (kernel command line hugepages=${hp.count})`,
            'no-hugepages',
        );
    }
    return next;
}

/** The kernel's page count for one size (nr_hugepages): what it gives can be less than what is written. */
export interface PageCount {
    name: string;
    read(): number;
    write(n: number): void;
}

function sysfsCount(sizeKb: number): PageCount {
    const name = `${sysDir(sizeKb)}/nr_hugepages`;
    return { name, read: () => readNum(name), write: (n) => writeFileSync(name, String(n)) };
}

/** Unmounts and gives back the pages we added. Safe to call twice. */
export function releaseHugepages(r: HugepageReservation): void {
    if (isMounted(r.mountDir)) {
        try {
            execFileSync('umount', [r.mountDir], { stdio: 'pipe' });
        } catch {
            // Still busy (a guest not yet gone): detach now, the kernel frees it when the last user exits.
            try { execFileSync('umount', ['-l', r.mountDir], { stdio: 'pipe' }); } catch { /* reported by the caller's leak check */ }
        }
    }
    try { rmSync(r.mountDir, { recursive: true, force: true }); } catch { /* busy mount */ }
    if (r.added > 0) {
        const nrFile = `${sysDir(r.sizeKb)}/nr_hugepages`;
        try {
            writeFileSync(nrFile, String(Math.max(0, readNum(nrFile) - r.added)));
        } catch { /* not root any more: nothing we can do */ }
        r.added = 0;
    }
}

/** The host's pages of one size (nr_hugepages and free_hugepages), or undefined when the size does not exist. */
export function hostHugepageCount(sizeKb: number): { total: number; free: number } | undefined {
    try {
        return { total: readNum(`${sysDir(sizeKb)}/nr_hugepages`), free: readNum(`${sysDir(sizeKb)}/free_hugepages`) };
    } catch {
        return undefined;
    }
}

/**
 * kB of hugetlb memory a process maps, by page size in kB, from the text of
 * /proc/PID/smaps; with `pathIncludes`, only mappings whose file path
 * contains one of these (ovs-vswitchd also maps the guests' memory for
 * vhost-user: its own pools are DPDK's `<file-prefix>map_N` files, or
 * `memfd:seg_N-M` under --in-memory, which OvS 3.1 passes).
 */
export function parseSmapsHugetlb(text: string, pathIncludes?: string[]): Record<number, number> {
    const out: Record<number, number> = {};
    let pageKb = 4;
    let counted = true;
    for (const line of text.split('\n')) {
        const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (head) { counted = !pathIncludes || pathIncludes.some((x) => head[1].includes(x)); continue; }
        const k = /^KernelPageSize:\s+(\d+) kB/.exec(line);
        if (k) { pageKb = Number(k[1]); continue; }
        const h = /^(?:Shared|Private)_Hugetlb:\s+(\d+) kB/.exec(line);
        if (h && counted && Number(h[1]) > 0) out[pageKb] = (out[pageKb] ?? 0) + Number(h[1]);
    }
    return out;
}

/** The hugetlb memory a live process maps, by page size (kB); empty when it is gone or unreadable. */
export function hugetlbUsedKb(pid: number, pathIncludes?: string[]): Record<number, number> {
    try {
        return parseSmapsHugetlb(readFileSync(`/proc/${pid}/smaps`, 'utf8'), pathIncludes);
    } catch {
        return {};
    }
}
