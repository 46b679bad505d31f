/**
 * An `ssh` host end to end (issue 20): this machine (h1, the OVN central)
 * and a "remote machine" h3, which is a network namespace with its own
 * uplink eth1 and OpenSSH's sshd listening only on that uplink's address.
 * vtopo deploys h3's part by running its own CLI there over ssh
 * (`vtopo deploy FILE --host h3`): h3's OvS takes eth1 over and the address
 * moves onto br-phy. Cases, on one shared deployment: an unreachable host
 * fails its own part with a clear message and leaves this machine's
 * running; with sshd up the next deploy adds h3, verify pings across the
 * Geneve tunnel, status shows h3's chassis and binding; a redeploy changes
 * nothing on either side; `destroy --host h3` there gives eth1 its address
 * back; destroy here leaves nothing on either side.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/core/plan.js';
import type { Status } from '../../src/core/status.js';
import type { DeployResult } from '../../src/core/api.js';
import { selfExecArgv } from '../../src/host/self-exec.js';
import { shellQuote } from '../../src/backends/ovn/remote.js';
import { processesMentioning } from '../runtime/leaks.js';
import { runVtopo, type CliResult } from '../runtime/cli-run.js';
import { run } from '../support/run.js';
import { sshMachine, type SshMachine } from '../support/ssh-machine.js';
import { sleep, tempDir } from '../support/wait.js';

const TOPOLOGY = 'sshlab';
const NET = '172.31.58';
const root = tempDir('ssh');
const runRoot = path.join(root, 'run');
const remoteRoot = path.join(root, 'remote');
const file = path.join(root, `${TOPOLOGY}.vtopo`);
const remoteCopy = path.join(os.homedir(), '.vtopo', `${TOPOLOGY}.vtopo`);
const TEXT = `topology ${TOPOLOGY} {
  host h1 { cores 0-1  memory 4G  underlay ${NET}.1/24 }
  host h3 { ssh "root@${NET}.3"  underlay ${NET}.3/24  uplink af_packet "eth1" }
  fabric { engine ovn  encap geneve  central h1  underlay-mtu 1600 }
  bridge web { datapath ovs  mtu 1400 }
  vm a { host h1  cpus 1  memory 256M  port eth0 { bridge web  ip 10.0.1.1/24 } }
  vm c { host h3  cpus 1  memory 256M  port eth0 { bridge web  ip 10.0.1.3/24 } }
}
`;

let machine: SshMachine;
const env = () => ({
    VTOPO_SSH: machine.sshCommand,
    // As the remote host's shell reads it: its own run root, this checkout's CLI.
    VTOPO_REMOTE_VTOPO: `VTOPO_RUN_ROOT=${shellQuote(remoteRoot)} ${selfExecArgv().map(shellQuote).join(' ')}`,
});
const vtopo = (...args: string[]): Promise<CliResult> => runVtopo(runRoot, args, env());
/** The CLI as an operator on h3 runs it (in h3's namespace, its run root). */
const onH3 = (...args: string[]) => machine.exec('env', [`VTOPO_RUN_ROOT=${remoteRoot}`, ...selfExecArgv(), ...args]);
const json = <T>(r: { stdout: string; stderr: string }, what: string): T => {
    try {
        return JSON.parse(r.stdout) as T;
    } catch {
        throw new Error(`${what}: no JSON\n${r.stdout}\n${r.stderr}`);
    }
};

describe('e2e: an ssh host deployed by its own vtopo over OpenSSH', () => {
    beforeAll(async () => {
        writeFileSync(file, TEXT);
        machine = await sshMachine({ dir: path.join(root, 'ssh'), netns: 'vtopo-t-sshm', underlayNetns: `vtopo-${TOPOLOGY}-ul`, address: `${NET}.3`, clientAddress: `${NET}.250`, prefix: 24, mtu: 1600 });
    }, 60_000);

    afterAll(async () => {
        try {
            await machine?.startSshd().catch(() => undefined);
            const r = await vtopo('destroy', file);
            if (r.code !== 0) console.warn(`destroy: ${r.stdout}${r.stderr}`);
            // If the lead could not reach h3, h3's own destroy still ends its part.
            if (machine && existsSync(path.join(remoteRoot, `${TOPOLOGY}@h3`))) await onH3('destroy', file, '--host', 'h3');
        } finally {
            await machine?.remove();
            rmSync(remoteCopy, { force: true });
            rmSync(root, { recursive: true, force: true });
        }
    }, 300_000);

    it('with h3 unreachable, deploy fails h3\'s part by name and leaves this machine\'s part running', async () => {
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(1);
        expect(d.stderr).toMatch(/host h3: host h3 \(ssh root@172\.31\.58\.3\) cannot be reached/);
        expect(d.stderr).toMatch(/fix: check that `ssh root@172\.31\.58\.3 true` works/);
        expect(d.stderr).toMatch(/the other hosts are deployed and left as they are/);
        const s = json<Status>(await vtopo('status', file, '--json'), 'status');
        expect(s.vms.map((v) => [v.name, v.state])).toEqual([['a', 'running']]);
        const h3 = s.fabric!.hosts.find((h) => h.name === 'h3')!;
        expect(h3).toMatchObject({ controller: 'remote', reachable: false, chassis_registered: false });
        expect(s.datapath_warnings?.map((w) => w.message)).toContainEqual(expect.stringContaining('host h3: not reachable over ssh'));
    }, 600_000);

    it('with sshd up, the next deploy deploys h3 there: its chassis registers and its guest\'s port is bound on it', async () => {
        await machine.startSshd();
        const d = await vtopo('deploy', file, '--json');
        expect(d.code, d.stdout + d.stderr).toBe(0);
        const r = json<DeployResult>(d, 'deploy');
        expect(r.hosts).toEqual([{ host: 'h3', ok: true, applied: expect.any(Number) }]);
        expect(r.hosts![0].applied).toBeGreaterThan(0);
        expect(d.stderr).toContain('host h3: deploying its part over ssh');
        const f = json<Status>(await vtopo('status', file, '--json'), 'status').fabric!;
        expect(f.hosts.map((h) => [h.name, h.chassis_registered, h.controller])).toEqual([['h1', true, 'running'], ['h3', true, 'remote']]);
        expect(f.hosts[1].reachable).toBe(true);
        expect(f.ports.map((p) => [p.name, p.up, p.chassis, p.on_planned_chassis])).toEqual([
            ['a.eth0', true, `${TOPOLOGY}-h1`, true], ['c.eth0', true, `${TOPOLOGY}-h3`, true]]);
        // On h3: its own OvS took eth1 over (the address is on br-phy now), its guest runs.
        const addrs = (await machine.exec('ip', ['-br', 'addr'])).stdout;
        expect(addrs).toMatch(new RegExp(`br-phy\\s+\\S+\\s+${NET}\\.3/24`));
        expect(addrs).not.toMatch(new RegExp(`eth1\\S*\\s+\\S+\\s+${NET}\\.3/24`));
        const there = json<Status>(await onH3('status', file, '--host', 'h3', '--json'), 'status on h3');
        expect(there.vms.map((v) => [v.name, v.state])).toEqual([['c', 'running']]);
        expect(there.fabric!.central).toMatchObject({ host: 'h1', sb: true });
        expect(readFileSync(remoteCopy, 'utf8')).toBe(TEXT);
    }, 900_000);

    it('verify pings the ssh host\'s guest from this machine\'s, across the tunnel; h3\'s verify pings back', async () => {
        let v = await vtopo('verify', file, '--json');
        if (v.code !== 0) {
            console.warn(`verify failed once:\n${v.stdout}\n${v.stderr}`);
            await sleep(5000);
            v = await vtopo('verify', file, '--json');
        }
        expect(v.code, v.stdout + v.stderr).toBe(0);
        expect(json<{ pairs: { from: string; to: string; ok: boolean }[] }>(v, 'verify').pairs.map((p) => [p.from, p.to, p.ok])).toEqual([['a', 'c', true]]);
        const back = await onH3('verify', file, '--host', 'h3', '--json');
        expect(back.status, back.stdout + back.stderr).toBe(0);
        expect(json<{ pairs: { from: string; to: string; ok: boolean }[] }>(back, 'verify on h3').pairs.map((p) => [p.from, p.to, p.ok])).toEqual([['c', 'a', true]]);
    }, 300_000);

    it('a second deploy changes nothing, here or on h3', async () => {
        const d = await vtopo('deploy', file, '--json');
        expect(d.code, d.stdout + d.stderr).toBe(0);
        const r = json<DeployResult>(d, 'redeploy');
        expect(r.applied).toEqual([]);
        expect(r.hosts).toEqual([{ host: 'h3', ok: true, applied: 0 }]);
    }, 600_000);

    it('`vtopo destroy FILE --host h3` on h3 ends its part and gives eth1 its address back; destroy here leaves nothing', async () => {
        const plan = (JSON.parse(readFileSync(path.join(runRoot, TOPOLOGY, 'state', 'state.json'), 'utf8')) as { deployed: Plan }).deployed;
        const d3 = await onH3('destroy', file, '--host', 'h3');
        expect(d3.status, d3.stdout + d3.stderr).toBe(0);
        const addrs = (await machine.exec('ip', ['-br', 'addr'])).stdout;
        expect(addrs).toMatch(new RegExp(`eth1\\S*\\s+UP\\s+${NET}\\.3/24`));
        expect(addrs).not.toContain('br-phy');
        expect(processesMentioning(path.join(remoteRoot, `${TOPOLOGY}@h3`)).map((p) => p.cmd)).toEqual([]);
        // This machine's status sees h3's chassis gone.
        const f = json<Status>(await vtopo('status', file, '--json'), 'status').fabric!;
        expect(f.hosts.find((h) => h.name === 'h3')?.chassis_registered).toBe(false);

        await machine.forgetNeighbour();
        const d = await vtopo('destroy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        for (let i = 0; i < 50 && processesMentioning(plan.runDir).length; i++) await sleep(200);
        expect(processesMentioning(plan.runDir).map((p) => p.cmd)).toEqual([]);
        expect(existsSync(remoteCopy)).toBe(false);
        const ns = (await run('ip', ['netns', 'list'])).stdout;
        expect(ns).not.toContain(`vtopo-${TOPOLOGY}`);
        for (const h of plan.fabric!.hosts) expect(existsSync(`/var/run/dpdk/${h.ovs.filePrefix}`)).toBe(false);
    }, 600_000);
});
