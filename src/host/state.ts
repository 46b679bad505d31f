/**
 * The persisted state of a deployed topology: `<runDir>/state/` (0700),
 * written atomically (tmp + rename) so status, destroy and a re-deploy
 * work from a fresh process after any crash. A lock file refuses a second
 * concurrent deploy/destroy; a lock left by a dead process is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, chmodSync } from 'node:fs';
import * as path from 'node:path';
import type { Plan, VmPlan } from '../core/plan.js';
import { VtopoError } from '../core/api.js';
import { writing } from './fs-errors.js';
import { alive, startTicks } from './procs.js';

export interface HugepageReservation {
    /** sysfs page-size directory, e.g. hugepages-2048kB. */
    sizeKb: number;
    /** Pages we added to nr_hugepages (given back on destroy). */
    added: number;
    mountDir: string;
    mounted: boolean;
}

export interface DeployState {
    version: 1;
    /** What runs, as last fully applied. */
    deployed?: Plan;
    /** A deploy in progress (or one that crashed): destroy tears down its parts too. */
    pending?: Plan;
    hugepages?: HugepageReservation;
    /**
     * The guests as they run, each with the settings it was started with,
     * while a deploy is pending: one that stopped part-way may have started
     * or restarted some of them, so `deployed` no longer says what runs.
     */
    guests?: VmPlan[];
    /**
     * Guests the user stopped (`vtopo stop`): status shows them stopped, not
     * crashed, and nothing starts them again but `vtopo start` or the next
     * deploy (which writes a fresh state without this list).
     */
    userStopped?: string[];
    /** A `vtopo restart`/`start` in progress, by guest: the process doing it (a dead one's entry is ignored). */
    restarting?: Record<string, { pid: number; ticks: number }>;
    /** Ports (`vm.port`, NIC names, link ids) whose carrier `vtopo link … down` took away. */
    linksDown?: string[];
    updatedAt: string;
}

export const stateDirOf = (runDir: string) => path.join(runDir, 'state');
const stateFile = (runDir: string) => path.join(stateDirOf(runDir), 'state.json');
const lockFile = (runDir: string) => path.join(stateDirOf(runDir), 'lock');

export function ensureRunDir(runDir: string): void {
    writing(() => {
        mkdirSync(stateDirOf(runDir), { recursive: true, mode: 0o700 });
        chmodSync(runDir, 0o700);
        chmodSync(stateDirOf(runDir), 0o700);
    });
}

export function readState(runDir: string): DeployState | undefined {
    let text: string;
    try {
        text = readFileSync(stateFile(runDir), 'utf8');
    } catch {
        return undefined;
    }
    try {
        return JSON.parse(text) as DeployState;
    } catch (err) {
        throw new VtopoError(
            `the state file ${stateFile(runDir)} is not valid JSON (${(err as Error).message})`,
            `remove it after stopping what runs by hand, or run \`vtopo destroy\` which ignores a corrupt state`,
            'state-corrupt',
        );
    }
}

/** Like readState, but a corrupt file counts as no state (destroy must always be able to run). */
export function readStateLenient(runDir: string): DeployState | undefined {
    try {
        return readState(runDir);
    } catch {
        return undefined;
    }
}

export function writeState(runDir: string, state: Omit<DeployState, 'version' | 'updatedAt'>): void {
    ensureRunDir(runDir);
    const file = stateFile(runDir);
    const tmp = `${file}.${process.pid}.tmp`;
    const full: DeployState = { version: 1, ...state, updatedAt: new Date().toISOString() };
    writing(() => {
        const fd = openSync(tmp, 'w', 0o600);
        try {
            writing(() => writeSync(fd, JSON.stringify(full, null, 2) + '\n'), tmp);
        } catch (err) {
            // A half-written tmp file must not linger next to the good state.
            closeSync(fd);
            rmSync(tmp, { force: true });
            throw err;
        }
        closeSync(fd);
        renameSync(tmp, file);
    }, file);
}

export interface Lock { release(): void }

/** Takes the topology's lock for `what` (deploy/destroy) or throws a VtopoError naming the holder. */
export function acquireLock(runDir: string, topology: string, what: string): Lock {
    ensureRunDir(runDir);
    return lockAt(lockFile(runDir), what, (pid, holderWhat) => new VtopoError(
        `another vtopo ${holderWhat ?? 'deploy'} of topology ${topology} is running (pid ${pid})`,
        `wait for it to finish, or stop it (kill ${pid}) and run again`,
        'busy',
    ));
}

/**
 * A lock file holding `pid ticks what`: taken with O_EXCL, taken over when
 * its holder died; `busy` makes the error for a live holder.
 */
export function lockAt(file: string, what: string, busy: (pid: number, what: string | undefined) => VtopoError): Lock {
    const me = `${process.pid} ${startTicks(process.pid) ?? 0} ${what}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const fd = openSync(file, 'wx', 0o600);
            try {
                writing(() => writeSync(fd, me), file);
            } catch (err) {
                // A disk that filled up: an empty lock would only confuse the next run.
                closeSync(fd);
                rmSync(file, { force: true });
                throw err;
            }
            closeSync(fd);
            return {
                release() {
                    // Only our own lock: a destroy may have removed the run dir already.
                    try { if (readFileSync(file, 'utf8') === me) rmSync(file); } catch { /* gone */ }
                },
            };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        let holder = '';
        try { holder = readFileSync(file, 'utf8'); } catch { continue; }
        const [pidText, ticksText, holderWhat] = holder.trim().split(' ');
        const pid = Number(pidText);
        const ticks = Number(ticksText);
        const holderAlive = pid > 1 && alive(pid) && (!ticks || startTicks(pid) === ticks);
        if (holderAlive) throw busy(pid, holderWhat);
        // The holder died (kill -9, crash): its lock is stale.
        try { rmSync(file); } catch { /* raced with another taker */ }
    }
    throw new VtopoError(`could not take the lock ${file}`, 'run again; if it persists remove the file', 'busy');
}
