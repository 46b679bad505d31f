/**
 * The host's own Open vSwitch, brought up the way Debian's package does it
 * (update-alternatives onto the DPDK build, ovs-ctl start, other_config set
 * with ovs-vsctl) and taken down again with everything it created removed
 * and the ovs-vswitchd alternative restored. Only for a test that owns the
 * system OvS for its duration: it refuses to run when one is already up.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { VSWITCHD_DPDK } from '../../src/backends/ovs/paths.js';
import { sleep } from '../../src/host/procs.js';
import { run, runOk } from '../support/run.js';

export const OVS_CTL = '/usr/share/openvswitch/scripts/ovs-ctl';
export const SYSTEM_RUNDIR = '/var/run/openvswitch';
export const SYSTEM_DB = `unix:${SYSTEM_RUNDIR}/db.sock`;
/** What ovs-ctl and a DPDK with the default file prefix create, each removed afterwards if it was absent before. */
const CREATED = ['/var/lib/openvswitch/conf.db', '/var/lib/openvswitch/.conf.db.~lock~', '/var/log/openvswitch/ovs-vswitchd.log',
    '/var/log/openvswitch/ovsdb-server.log', '/var/run/dpdk/rte', SYSTEM_RUNDIR];

/** Why the system OvS cannot be used here, or undefined when it can. */
export function systemOvsUnavailable(): string | undefined {
    if (!existsSync(OVS_CTL)) return `${OVS_CTL} is missing (apt-get install openvswitch-switch)`;
    if (!existsSync(VSWITCHD_DPDK)) return `${VSWITCHD_DPDK} is missing (apt-get install openvswitch-switch-dpdk)`;
    if (existsSync(`${SYSTEM_RUNDIR}/db.sock`)) return 'a system OvS is already running: not ours to restart';
    return undefined;
}

export function sh(cmd: string, args: string[], timeout = 30_000): string {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function vsctl(...args: string[]): string {
    return sh('ovs-vsctl', ['--timeout=20', ...args]).trim();
}

export function appctl(...args: string[]): string {
    return sh('ovs-appctl', ['--timeout=20', ...args]);
}

interface Alternative { status: string; value: string }

function queryAlternative(): Alternative {
    const q = sh('update-alternatives', ['--query', 'ovs-vswitchd']);
    const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(q)?.[1]?.trim() ?? '';
    return { status: field('Status'), value: field('Value') };
}

export interface SystemOvs {
    /** Takes it all down; safe to call more than once, and after a failed start. */
    stop(keepLogIn?: string): Promise<void>;
}

/** Starts the system OvS with DPDK as issue 18 describes, other_config applied. */
export async function startSystemOvs(otherConfig: Record<string, string>): Promise<SystemOvs> {
    const before = queryAlternative();
    const absent = CREATED.filter((f) => !existsSync(f));
    let stopped = false;
    const stop = async (keepLogIn?: string) => {
        if (stopped) return;
        stopped = true;
        if (keepLogIn && existsSync('/var/log/openvswitch/ovs-vswitchd.log')) {
            cpSync('/var/log/openvswitch/ovs-vswitchd.log', `${keepLogIn}/system-ovs-vswitchd.log`);
        }
        await run(OVS_CTL, ['stop'], { timeout: 60_000 });
        if (before.status === 'auto') sh('update-alternatives', ['--auto', 'ovs-vswitchd']);
        else if (before.value) sh('update-alternatives', ['--set', 'ovs-vswitchd', before.value]);
        for (const f of absent) rmSync(f, { recursive: true, force: true });
    };
    try {
        sh('update-alternatives', ['--set', 'ovs-vswitchd', VSWITCHD_DPDK]);
        await runOk(OVS_CTL, ['start'], { timeout: 120_000 });
        vsctl('set', 'Open_vSwitch', '.', ...Object.entries(otherConfig).map(([k, v]) => `other_config:${k}=${v}`));
        for (let i = 0; vsctl('get', 'Open_vSwitch', '.', 'dpdk_initialized') !== 'true'; i++) {
            if (i > 600) throw new Error('the system OvS did not initialise DPDK within 60 s');
            await sleep(100);
        }
    } catch (e) {
        await stop();
        throw e;
    }
    return { stop };
}

/** The alternative as `update-alternatives --query` shows it now (for the restore check). */
export function currentAlternative(): Alternative {
    return queryAlternative();
}
