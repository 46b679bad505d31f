/**
 * A topology's own Open vSwitch: ovsdb-server + ovs-vswitchd-dpdk with a
 * private run/db/log directory, DPDK file prefix and network namespace, so
 * that two topologies (or the host's own OvS) never see each other's taps,
 * hugepage files or bridges. Or, in 'existing' mode, someone else's OvS of
 * which we touch only the bridges marked with our topology name.
 *
 * Everything is found again from the plan (pidfiles, sockets), so start and
 * stop work from a fresh process after a crash.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Plan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { alive, isOurs, readPidFile, sleep, terminate, waitGone } from '../../host/procs.js';
import { inNetns, run, runOk } from './exec.js';
import { bumpAndWait, VSWITCH_DB } from './ovsdb/cfg.js';
import { OvsdbClient } from './ovsdb/client.js';
import { map, op, toRecord } from './ovsdb/values.js';
import { cpuMask, DPDK_RUNTIME_ROOT, ovsPaths, ovsPlan, VSWITCH_SCHEMA, VSWITCHD_DPDK, type OvsPaths } from './paths.js';

/** DPDK without hugepages puts one mbuf per 4K page: OvS's default pool needs this much (measured). */
export const NO_HUGE_MEMORY_MB = 1536;
const START_TIMEOUT_MS = 60_000;
/**
 * ovsdb-server and ovs-vswitchd bind their db/ctl sockets with the socket
 * inode at 0770 minus the umask, and DPDK's vhost sockets with a plain
 * bind: under 077 every socket and file they make is owner-only (0700/0600).
 */
const DAEMON_UMASK = 0o077;

export async function connect(plan: Plan, timeoutMs = 5000): Promise<OvsdbClient> {
    const p = ovsPaths(plan);
    try {
        return await OvsdbClient.connect(p.dbSocket, { connectTimeoutMs: timeoutMs });
    } catch (e) {
        throw new VtopoError(`cannot reach the OvS database at ${p.dbSocket}: ${(e as Error).message}`,
            p.mode === 'existing'
                ? 'start Open vSwitch (systemctl start openvswitch-switch) or fix the database socket the topology names'
                : 'run `vtopo deploy` again to restart the topology\'s private OvS');
    }
}

export async function withClient<T>(plan: Plan, fn: (c: OvsdbClient) => Promise<T>): Promise<T> {
    const c = await connect(plan);
    try {
        return await fn(c);
    } finally {
        c.close();
    }
}

export interface InstanceState {
    running: boolean;
    vswitchdPid?: number;
    ovsdbPid?: number;
    error?: string;
}

/** What is running now, from pidfiles (private) or the database (existing). */
export async function instanceState(plan: Plan): Promise<InstanceState> {
    const p = ovsPaths(plan);
    if (p.mode === 'existing') {
        try {
            const row = await withClient(plan, (c) => readRoot(c));
            return row?.dpdkInitialized ? { running: true } : { running: false, error: 'DPDK is not initialised in the existing OvS' };
        } catch (e) {
            return { running: false, error: (e as Error).message };
        }
    }
    const vswitchdPid = ourPid(p.vswitchdPid, p.marker);
    const ovsdbPid = ourPid(p.ovsdbPid, p.marker);
    return { running: !!vswitchdPid && !!ovsdbPid && existsSync(p.dbSocket), vswitchdPid, ovsdbPid };
}

export async function startInstance(plan: Plan): Promise<void> {
    const p = ovsPaths(plan);
    if (p.mode === 'existing') {
        await checkExisting(plan);
        return;
    }
    mkdirSync(p.runDir, { recursive: true, mode: 0o700 });
    const env = ovsEnv(p);
    if (!ourPid(p.ovsdbPid, p.marker)) {
        await waitThreadsGone(p.ovsdbPid);
        await startOvsdb(p, env);
    }
    const c = await connect(plan);
    try {
        await configureRoot(c, plan);
        if (!ourPid(p.vswitchdPid, p.marker)) {
            await waitThreadsGone(p.vswitchdPid);
            if (p.netns) await ensureNetns(p.netns);
            await startVswitchd(p, env);
        }
        await waitDpdkReady(c, p);
        await bumpAndWait(c, START_TIMEOUT_MS).catch((e) => {
            const pid = ourPid(p.vswitchdPid, p.marker);
            throw new VtopoError(`${(e as Error).message}; ovs-vswitchd ${pid ? `(pid ${pid}) runs but does not apply it` : 'is not running'}: ${lastErrors(p) || tail(p.vswitchdLog)}`,
                `see ${p.vswitchdLog}; \`vtopo destroy\` and deploy again restarts the private OvS`);
        });
    } finally {
        c.close();
    }
}

/**
 * Stops the private OvS (or, for an existing one, deletes only our bridges)
 * and removes what it left: netns, DPDK runtime dir, db and sockets. Logs stay.
 */
export async function stopInstance(plan: Plan): Promise<void> {
    const p = ovsPaths(plan);
    if (p.mode === 'existing') {
        await removeOurBridges(plan).catch((e) => {
            // An unreachable OvS has nothing of ours we could remove anyway.
            if (!(e instanceof VtopoError)) throw e;
        });
        return;
    }
    const vsPid = ourPid(p.vswitchdPid, p.marker);
    if (vsPid) {
        // --cleanup deletes the datapath ports (taps in the netns) as it goes.
        await run('ovs-appctl', ['-t', p.vswitchdCtl, 'exit', '--cleanup'], { timeoutMs: 15_000 });
        if (!(await waitGone(vsPid, 10_000))) await terminate(vsPid, p.marker);
    }
    const dbPid = ourPid(p.ovsdbPid, p.marker);
    if (dbPid) {
        await run('ovs-appctl', ['-t', p.ovsdbCtl, 'exit'], { timeoutMs: 10_000 });
        if (!(await waitGone(dbPid, 5000))) await terminate(dbPid, p.marker);
    }
    await waitThreadsGone(p.vswitchdPid);
    await waitThreadsGone(p.ovsdbPid);
    if (p.netns) {
        await killNetnsLeftovers(p);
        await run('ip', ['netns', 'del', p.netns]);
    }
    rmSync(path.join(DPDK_RUNTIME_ROOT, p.filePrefix), { recursive: true, force: true });
    for (const f of [p.dbFile, path.join(p.runDir, '.conf.db.~lock~'), p.dbSocket, p.ovsdbPid, p.ovsdbCtl, p.vswitchdPid, p.vswitchdCtl]) {
        rmSync(f, { force: true });
    }
    // dpdkvhostuser (server-mode) sockets OvS created in its run dir.
    if (existsSync(p.runDir)) {
        for (const f of readdirSync(p.runDir, { withFileTypes: true })) {
            if (f.isSocket()) rmSync(path.join(p.runDir, f.name), { force: true });
        }
    }
}

export async function removeOurBridges(plan: Plan): Promise<void> {
    await withClient(plan, async (c) => {
        const rows = (await c.transact(VSWITCH_DB, [op.select('Bridge', [['external_ids', 'includes', map({ 'vtopo-topology': plan.topology })]], ['_uuid'])]))[0].rows ?? [];
        if (rows.length === 0) return;
        await c.transact(VSWITCH_DB, rows.map((r) => op.mutate('Open_vSwitch', [], [['bridges', 'delete', r._uuid]])));
        await bumpAndWait(c).catch(() => undefined);
    });
}

function ovsEnv(p: OvsPaths): NodeJS.ProcessEnv {
    // The tools derive pidfile/ctl/vhost-sock-dir defaults from these.
    return { ...process.env, OVS_RUNDIR: p.runDir, OVS_LOGDIR: p.runDir, OVS_DBDIR: p.runDir };
}

/**
 * After SIGKILL the thread-group leader turns zombie at once while the
 * other threads (DPDK's, the PMDs) are still tearing down and still hold the
 * pidfile lock and DPDK's runtime files: a restart then fails with "already
 * running". Wait until no thread of the old pid is left.
 */
async function waitThreadsGone(pidFile: string, timeoutMs = 10_000): Promise<void> {
    const pid = readPidFile(pidFile);
    if (!pid) return;
    const end = Date.now() + timeoutMs;
    while (threadsExiting(pid) && Date.now() < end) await sleep(50);
}

function threadsExiting(pid: number): boolean {
    if (procState(`/proc/${pid}/stat`) !== 'Z') return false;
    try {
        return readdirSync(`/proc/${pid}/task`).some((t) => !['Z', 'X', undefined].includes(procState(`/proc/${pid}/task/${t}/stat`)));
    } catch {
        return false;
    }
}

/** The state letter of a /proc stat file (after the parenthesised name), or undefined when it is gone. */
function procState(statFile: string): string | undefined {
    try {
        const st = readFileSync(statFile, 'utf8');
        return st[st.lastIndexOf(')') + 2];
    } catch {
        return undefined;
    }
}

function ourPid(pidFile: string, marker: string): number | undefined {
    const pid = readPidFile(pidFile);
    return pid && alive(pid) && isOurs(pid, marker) ? pid : undefined;
}

async function startOvsdb(p: OvsPaths, env: NodeJS.ProcessEnv): Promise<void> {
    if (!existsSync(p.dbFile)) await runOk('ovsdb-tool', ['create', p.dbFile, VSWITCH_SCHEMA], { env, umask: DAEMON_UMASK });
    rmSync(p.dbSocket, { force: true });
    const fd = openSync(p.startLog, 'a', 0o600);
    try {
        const r = await run('ovsdb-server', [p.dbFile, `--remote=punix:${p.dbSocket}`, `--pidfile=${p.ovsdbPid}`,
            `--unixctl=${p.ovsdbCtl}`, `--log-file=${p.ovsdbLog}`, '-vconsole:off', '--detach', '--no-chdir'], { env, stdioFd: fd, timeoutMs: 20_000, umask: DAEMON_UMASK });
        if (r.code !== 0) {
            throw new VtopoError(`ovsdb-server did not start (exit ${r.code}): ${tail(p.startLog) || tail(p.ovsdbLog)}`,
                `see ${p.ovsdbLog}; remove ${p.dbFile} if it is corrupt`);
        }
    } finally {
        closeSync(fd);
    }
    const end = Date.now() + 10_000;
    while (!existsSync(p.dbSocket)) {
        if (Date.now() > end) throw new VtopoError(`ovsdb-server did not create ${p.dbSocket}`, `see ${p.ovsdbLog}`);
        await sleep(20);
    }
}

/** The one Open_vSwitch row: created if missing, DPDK and PMD settings merged in. */
async function configureRoot(c: OvsdbClient, plan: Plan): Promise<void> {
    const root = await readRoot(c);
    if (!root) await c.transact(VSWITCH_DB, [op.insert('Open_vSwitch', {})]);
    const settings = dpdkSettings(plan);
    await c.transact(VSWITCH_DB, [
        op.mutate('Open_vSwitch', [], [
            ['other_config', 'delete', ['set', Object.keys(settings)]],
            ['external_ids', 'delete', ['set', ['vtopo-topology']]],
        ]),
        op.mutate('Open_vSwitch', [], [
            ['other_config', 'insert', map(settings)],
            ['external_ids', 'insert', map({ 'vtopo-topology': plan.topology })],
        ]),
    ]);
}

/**
 * other_config for a private instance (the recipe in shared/notes/ovs-dpdk.md).
 * `hostCpus` (the host's CPU count) decides pmd-maxsleep; a parameter so the
 * settings are a pure function of their inputs.
 */
export function dpdkSettings(plan: Plan, hostCpus = os.cpus().length): Record<string, string> {
    const o = ovsPlan(plan);
    const p = ovsPaths(plan);
    const s: Record<string, string> = { 'dpdk-init': 'true' };
    // DPDK probes every PCI device it may drive (the host's own NIC too): allow
    // exactly the `driver pci` NICs on ovs bridges, or none at all.
    const pci = [...new Set(plan.nics.flatMap((n) => (n.datapath === 'ovs' && n.driver.kind === 'pci' ? [n.driver.address] : [])))];
    const extra = [`--file-prefix=${p.filePrefix}`, ...(pci.length ? pci.flatMap((a) => ['-a', a]) : ['--no-pci']), '--no-telemetry'];
    const noHuge = o.noHuge ?? !o.hugepageDir;
    if (noHuge) {
        // --no-huge alone aborts because OvS adds --in-memory; -m must not meet dpdk-socket-mem.
        extra.push('--no-huge', '--legacy-mem', '-m', String(Math.max(o.socketMemMb ?? 0, NO_HUGE_MEMORY_MB)));
    } else {
        const mb = String(o.socketMemMb ?? 128);
        s['dpdk-socket-mem'] = mb;
        s['dpdk-socket-limit'] = mb;
        s['dpdk-hugepage-dir'] = o.hugepageDir!;
    }
    s['dpdk-extra'] = extra.join(' ');
    const mask = o.pmdCpuMask ?? cpuMask(plan.host.pollCores);
    if (mask) s['pmd-cpu-mask'] = mask;
    // Pinned rx queues would otherwise reserve their PMD, starving every unpinned queue on a one-PMD host.
    // (OvS accepts isolate=false only with the 'group' assignment.)
    s['pmd-rxq-assign'] = 'group';
    s['pmd-rxq-isolate'] = 'false';
    // A busy-polling PMD starves TCG guests on small hosts (measured: ping after 18 s instead of 6 s).
    if (hostCpus <= 4) s['pmd-maxsleep'] = '1000';
    return s;
}

async function ensureNetns(name: string): Promise<void> {
    const list = await run('ip', ['netns', 'list']);
    const exists = list.stdout.split('\n').some((l) => l.split(' ')[0] === name);
    if (!exists) {
        const r = await run('ip', ['netns', 'add', name]);
        if (r.code !== 0) {
            throw new VtopoError(`cannot create network namespace ${name}: ${r.stderr.trim()}`,
                'run vtopo as root (the private OvS needs its own network namespace)');
        }
    }
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

async function startVswitchd(p: OvsPaths, env: NodeJS.ProcessEnv): Promise<void> {
    if (!existsSync(VSWITCHD_DPDK)) {
        throw new VtopoError(`${VSWITCHD_DPDK} is missing`, 'apt-get install openvswitch-switch-dpdk');
    }
    const fd = openSync(p.startLog, 'a', 0o600);
    try {
        const r = await run(...inNetns(p.netns, VSWITCHD_DPDK, [`unix:${p.dbSocket}`, `--pidfile=${p.vswitchdPid}`,
            `--unixctl=${p.vswitchdCtl}`, `--log-file=${p.vswitchdLog}`, '-vconsole:off', '--detach', '--no-chdir']),
        { env, stdioFd: fd, timeoutMs: START_TIMEOUT_MS, umask: DAEMON_UMASK });
        if (r.code !== 0) {
            throw new VtopoError(`ovs-vswitchd-dpdk did not start (exit ${r.code}): ${lastErrors(p) || tail(p.startLog)}`,
                `see ${p.vswitchdLog}`);
        }
    } finally {
        closeSync(fd);
    }
}

interface RootRow { dpdkInitialized: boolean; curCfg: number; nextCfg: number; otherConfig: Record<string, string> }

async function readRoot(c: OvsdbClient): Promise<RootRow | undefined> {
    const rows = (await c.transact(VSWITCH_DB, [op.select('Open_vSwitch', [], ['dpdk_initialized', 'cur_cfg', 'next_cfg', 'other_config'])]))[0].rows ?? [];
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return { dpdkInitialized: r.dpdk_initialized === true, curCfg: Number(r.cur_cfg), nextCfg: Number(r.next_cfg), otherConfig: toRecord(r.other_config) };
}

async function waitDpdkReady(c: OvsdbClient, p: OvsPaths): Promise<void> {
    const end = Date.now() + START_TIMEOUT_MS;
    for (;;) {
        const root = await readRoot(c);
        if (root?.dpdkInitialized) return;
        const pid = ourPid(p.vswitchdPid, p.marker);
        if (!pid || Date.now() > end) {
            throw new VtopoError(`ovs-vswitchd-dpdk ${pid ? 'did not initialise DPDK' : 'exited'}: ${lastErrors(p) || 'no error in its log'}`,
                `see ${p.vswitchdLog}; without hugepages DPDK needs about ${NO_HUGE_MEMORY_MB} MB of RAM`);
        }
        await sleep(50);
    }
}

async function checkExisting(plan: Plan): Promise<void> {
    const p = ovsPaths(plan);
    const root = await withClient(plan, (c) => readRoot(c));
    if (!root) throw new VtopoError(`the OvS database at ${p.dbSocket} has no Open_vSwitch row`, 'run `ovs-vsctl init` on that OvS');
    if (!root.dpdkInitialized) {
        throw new VtopoError(`the OvS at ${p.dbSocket} runs without DPDK, so it cannot serve vhost-user ports`,
            'ovs-vsctl set Open_vSwitch . other_config:dpdk-init=true, then restart ovs-vswitchd (the DPDK build)');
    }
}

/** Processes still inside our namespace after the daemons exited: ours only (argv names our run dir). */
async function killNetnsLeftovers(p: OvsPaths): Promise<void> {
    const r = await run('ip', ['netns', 'pids', p.netns]);
    if (r.code !== 0) return;
    for (const line of r.stdout.split('\n')) {
        const pid = Number(line.trim());
        if (pid > 1) await terminate(pid, p.marker, 2000);
    }
}

function tail(file: string, lines = 5): string {
    try {
        return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
        return '';
    }
}

/** The ERR/EMER lines of ovs-vswitchd's log: DPDK's reasons land there. */
function lastErrors(p: OvsPaths): string {
    try {
        const lines = readFileSync(p.vswitchdLog, 'utf8').split('\n').filter((l) => /\|(ERR|EMER)\|/.test(l));
        return lines.slice(-3).map((l) => l.replace(/^\S+\|\d+\|/, '')).join(' | ');
    } catch {
        return '';
    }
}
