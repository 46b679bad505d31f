/**
 * A topology's private OVN central: NB and SB ovsdb-servers and ovn-northd,
 * with their databases, sockets, pidfiles and logs in the plan's directory.
 * The SB also listens on TCP at the central host's underlay address, inside
 * that host's namespace, so ovn-controllers reach it over the underlay and
 * nothing listens outside it. Start reuses what runs; stop ends our daemons
 * by pid and removes their files (logs stay).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import type { FabricPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { alive, isOurs, readPidFile, sleep, terminate, waitGone } from '../../host/procs.js';
import { run, runOk } from '../ovs/exec.js';
import { OvsdbClient } from '../ovs/ovsdb/client.js';
import { op } from '../ovs/ovsdb/values.js';
import { centralPaths, hostNetns, NB_DB, NB_SCHEMA, remoteAddress, SB_DB, SB_SCHEMA, sbPort, type CentralPaths, type PrivateCentral } from './paths.js';

const DAEMON_UMASK = 0o077;
const START_TIMEOUT_MS = 20_000;

export interface CentralState {
    nbPid?: number;
    sbPid?: number;
    northdPid?: number;
    running: boolean;
}

export function privateCentral(f: FabricPlan): PrivateCentral | undefined {
    return f.central.kind === 'private' ? f.central : undefined;
}

export function centralState(f: FabricPlan): CentralState {
    const c = privateCentral(f);
    if (!c) return { running: false };
    const p = centralPaths(c);
    const nbPid = ourPid(p.nbPid, p.marker);
    const sbPid = ourPid(p.sbPid, p.marker);
    const northdPid = ourPid(p.northdPid, p.marker);
    return { nbPid, sbPid, northdPid, running: !!nbPid && !!sbPid && !!northdPid };
}

/**
 * Starts whatever of NB, SB and northd is not running. The central host's
 * namespace must exist and carry the underlay address (hosts are brought up
 * first), since the SB binds its TCP remote to that address.
 */
export async function startCentral(topology: string, f: FabricPlan): Promise<void> {
    const c = privateCentral(f);
    if (!c) return;
    const host = f.hosts.find((h) => h.name === c.host);
    if (!host) throw new VtopoError(`the OVN central host ${c.host} is not a host of the fabric`, `declare host ${c.host}, or name another host in \`central\``);
    const p = centralPaths(c);
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    const env = { ...process.env, OVS_RUNDIR: p.dir, OVS_LOGDIR: p.dir, OVS_DBDIR: p.dir, OVN_RUNDIR: p.dir, OVN_LOGDIR: p.dir, OVN_DBDIR: p.dir };
    if (!ourPid(p.nbPid, p.marker)) {
        await startDbServer(p, 'nb', [], undefined, env);
    }
    if (!ourPid(p.sbPid, p.marker)) {
        const addr = remoteAddress(c.sbRemote);
        await startDbServer(p, 'sb', [`--remote=ptcp:${sbPort(c.sbRemote)}:${addr}`], hostNetns(topology, host), env);
    }
    await initGlobal(p.nbSocket, NB_DB, 'NB_Global');
    await initGlobal(p.sbSocket, SB_DB, 'SB_Global');
    if (!ourPid(p.northdPid, p.marker)) await startNorthd(p, env);
}

/** Ends northd, SB and NB (in that order), by pid, and removes their databases, sockets and pidfiles. */
export async function stopCentral(f: FabricPlan): Promise<void> {
    const c = privateCentral(f);
    if (!c) return;
    const p = centralPaths(c);
    await stopDaemon(p.northdPid, p.northdCtl, p.marker);
    await stopDaemon(p.sbPid, p.sbCtl, p.marker);
    await stopDaemon(p.nbPid, p.nbCtl, p.marker);
    for (const file of [p.nbDb, p.sbDb, `${p.dir}/.nb.db.~lock~`, `${p.dir}/.sb.db.~lock~`, p.nbSocket, p.sbSocket,
        p.nbPid, p.sbPid, p.northdPid, p.nbCtl, p.sbCtl, p.northdCtl]) {
        rmSync(file, { force: true });
    }
}

async function startDbServer(p: CentralPaths, which: 'nb' | 'sb', remotes: string[], netns: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
    const db = which === 'nb' ? p.nbDb : p.sbDb;
    const sock = which === 'nb' ? p.nbSocket : p.sbSocket;
    const log = which === 'nb' ? p.nbLog : p.sbLog;
    if (!existsSync(db)) await runOk('ovsdb-tool', ['create', db, which === 'nb' ? NB_SCHEMA : SB_SCHEMA], { env, umask: DAEMON_UMASK });
    rmSync(sock, { force: true });
    const argv = ['ovsdb-server', db, `--remote=punix:${sock}`, ...remotes,
        `--pidfile=${which === 'nb' ? p.nbPid : p.sbPid}`, `--unixctl=${which === 'nb' ? p.nbCtl : p.sbCtl}`,
        `--log-file=${log}`, '-vconsole:off', '--detach', '--no-chdir'];
    const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, ...argv]] : [argv[0], argv.slice(1)];
    await startDetached(cmd, args, env, p.startLog, `the OVN ${which.toUpperCase()} ovsdb-server`, log);
    await waitSocket(sock, log);
}

async function startNorthd(p: CentralPaths, env: NodeJS.ProcessEnv): Promise<void> {
    await startDetached('ovn-northd', [`--ovnnb-db=unix:${p.nbSocket}`, `--ovnsb-db=unix:${p.sbSocket}`,
        `--pidfile=${p.northdPid}`, `--unixctl=${p.northdCtl}`, `--log-file=${p.northdLog}`, '-vconsole:off', '--detach', '--no-chdir'],
    env, p.startLog, 'ovn-northd', p.northdLog);
}

async function startDetached(cmd: string, args: string[], env: NodeJS.ProcessEnv, startLog: string, what: string, log: string): Promise<void> {
    const fd = openSync(startLog, 'a', 0o600);
    try {
        const r = await run(cmd, args, { env, stdioFd: fd, timeoutMs: START_TIMEOUT_MS, umask: DAEMON_UMASK });
        if (r.code === null && /ENOENT/.test(r.stderr)) {
            throw new VtopoError(`${what} cannot start: ${cmd} is not installed`, 'apt-get install ovn-central ovn-host');
        }
        if (r.code !== 0) {
            throw new VtopoError(`${what} did not start (exit ${r.code}): ${tail(startLog) || tail(log)}`, `see ${log}`);
        }
    } finally {
        closeSync(fd);
    }
}

/** NB_Global / SB_Global: the one row `ovn-nbctl init` and `ovn-sbctl init` create. */
async function initGlobal(socket: string, db: string, table: string): Promise<void> {
    const c = await OvsdbClient.connect(socket);
    try {
        const rows = (await c.transact(db, [op.select(table, [], ['_uuid'])]))[0].rows ?? [];
        if (rows.length === 0) await c.transact(db, [op.insert(table, {})]);
    } finally {
        c.close();
    }
}

async function waitSocket(sock: string, log: string): Promise<void> {
    const end = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(sock)) {
        if (Date.now() > end) throw new VtopoError(`ovsdb-server did not create ${sock}`, `see ${log}`);
        await sleep(20);
    }
}

async function stopDaemon(pidFile: string, ctl: string, marker: string): Promise<void> {
    const pid = ourPid(pidFile, marker);
    if (!pid) return;
    await run('ovs-appctl', ['-t', ctl, 'exit'], { timeoutMs: 5000 });
    if (!(await waitGone(pid, 5000))) await terminate(pid, marker);
}

function ourPid(pidFile: string, marker: string): number | undefined {
    const pid = readPidFile(pidFile);
    return pid && alive(pid) && isOurs(pid, marker) ? pid : undefined;
}

function tail(file: string, lines = 5): string {
    try {
        return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
        return '';
    }
}
