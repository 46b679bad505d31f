/**
 * A "remote machine" on this one, for `ssh` hosts: a network namespace with
 * an uplink `eth1` on the topology's underlay bridge (the namespace vtopo
 * reuses when it finds it), OpenSSH's sshd listening only on the uplink's
 * address inside that namespace, with a host key and a client key this
 * module generates, and a veth from our own namespace onto the same
 * underlay so the ssh client can reach it. Everything is ours and goes in
 * `remove()`, whatever state the test left it in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { run } from './run.js';
import { sleep } from './wait.js';

export interface SshMachine {
    netns: string;
    address: string;
    /** The VTOPO_SSH value that reaches it (its own config: key, known_hosts). */
    sshCommand: string;
    startSshd(): Promise<void>;
    stopSshd(): Promise<void>;
    /**
     * Forgets the MAC our end cached for the machine's address. After its address moved back from br-phy to
     * its uplink (destroy there), that entry names br-phy's MAC, which is gone; vtopo announces the move with
     * a gratuitous ARP, which a standalone check sees on the wire but this test's client did not (cause not
     * found), so the entry would go through its stale and probe states first (longer than ssh's retry).
     */
    forgetNeighbour(): Promise<void>;
    /** Runs a command inside the machine's namespace. */
    exec(cmd: string, args: string[]): ReturnType<typeof run>;
    remove(): Promise<void>;
}

async function ok(cmd: string, args: string[]): Promise<void> {
    const r = await run(cmd, args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

export async function sshMachine(o: { dir: string; netns: string; underlayNetns: string; address: string; clientAddress: string; prefix: number; mtu: number }): Promise<SshMachine> {
    const { dir, netns, address } = o;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const vethUl = `u-${netns.slice(-8)}`;
    const client = `c-${netns.slice(-8)}`;
    const clientUl = `cu-${netns.slice(-8)}`;
    let sshd: ChildProcess | undefined;

    const machine: SshMachine = {
        netns,
        address,
        sshCommand: `ssh -F ${path.join(dir, 'ssh_config')}`,
        async startSshd() {
            if (sshd) return;
            // sshd's privilege separation directory (Debian's unit creates it; we run sshd ourselves).
            mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
            sshd = spawn('ip', ['netns', 'exec', netns, '/usr/sbin/sshd', '-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
            let log = '';
            sshd.stderr!.setEncoding('utf8').on('data', (d: string) => { log += d; });
            for (let i = 0; i < 100; i++) {
                if (sshd.exitCode !== null) throw new Error(`sshd exited: ${log}`);
                if ((await run('ip', ['netns', 'exec', netns, 'ss', '-Hltn', `sport = :22`])).stdout.includes(address)) return;
                await sleep(100);
            }
            throw new Error(`sshd did not listen on ${address}:22: ${log}`);
        },
        async stopSshd() {
            const p = sshd;
            sshd = undefined;
            if (!p || p.exitCode !== null) return;
            const gone = new Promise((r) => p.once('exit', r));
            p.kill('SIGTERM');
            await Promise.race([gone, sleep(5000)]);
        },
        async forgetNeighbour() {
            await run('ip', ['neigh', 'flush', 'dev', client]);
        },
        exec: (cmd, args) => run('ip', ['netns', 'exec', netns, cmd, ...args]),
        async remove() {
            await machine.stopSshd();
            await run('ip', ['netns', 'del', netns]);
            await run('ip', ['link', 'del', client]);
            await run('ip', ['netns', 'del', o.underlayNetns]);
        },
    };

    try {
        await ok('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
        await ok('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
        await ok('cp', [path.join(dir, 'id.pub'), path.join(dir, 'authorized_keys')]);
        writeFileSync(path.join(dir, 'sshd_config'), [
            `ListenAddress ${address}:22`, `HostKey ${path.join(dir, 'host_key')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
            `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
            'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'PrintMotd no', 'LogLevel ERROR', '',
        ].join('\n'), { mode: 0o600 });
        writeFileSync(path.join(dir, 'ssh_config'), [
            `Host ${address}`, `  IdentityFile ${path.join(dir, 'id')}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
            '  StrictHostKeyChecking accept-new', '  LogLevel ERROR', '',
        ].join('\n'), { mode: 0o600 });

        // The underlay bridge, as vtopo names it: its deploy finds it and adds the simulated hosts' veths.
        await ok('ip', ['netns', 'add', o.underlayNetns]);
        await ok('ip', ['-n', o.underlayNetns, 'link', 'add', 'br-underlay', 'mtu', String(o.mtu), 'type', 'bridge']);
        await ok('ip', ['-n', o.underlayNetns, 'link', 'set', 'br-underlay', 'up']);
        await ok('ip', ['netns', 'add', netns]);
        await ok('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
        await ok('ip', ['link', 'add', 'eth1', 'netns', netns, 'mtu', String(o.mtu), 'type', 'veth', 'peer', 'name', vethUl, 'netns', o.underlayNetns, 'mtu', String(o.mtu)]);
        await ok('ip', ['link', 'add', client, 'mtu', String(o.mtu), 'type', 'veth', 'peer', 'name', clientUl, 'netns', o.underlayNetns, 'mtu', String(o.mtu)]);
        for (const dev of [vethUl, clientUl]) await ok('ip', ['-n', o.underlayNetns, 'link', 'set', dev, 'master', 'br-underlay', 'up']);
        await ok('ip', ['-n', netns, 'addr', 'add', `${address}/${o.prefix}`, 'dev', 'eth1']);
        await ok('ip', ['-n', netns, 'link', 'set', 'eth1', 'up']);
        await ok('ip', ['addr', 'add', `${o.clientAddress}/${o.prefix}`, 'dev', client]);
        await ok('ip', ['link', 'set', client, 'up']);
        // A veth leaves TCP checksums to "hardware" that never computes them; once sshd's address sits on
        // br-phy the segments reach it through af_packet, OvS and a tap, whose receive path checks them and
        // drops every one (a real NIC delivers them whole). The client computes them itself.
        await ok('ethtool', ['-K', client, 'tx', 'off']);
    } catch (e) {
        await machine.remove();
        throw e;
    }
    return machine;
}
