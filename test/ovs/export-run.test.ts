/**
 * The ovs-vsctl export is a script users run: run it (via its VSCTL hook,
 * with --no-wait: no ovs-vswitchd here) against a real ovsdb-server and
 * read back the bridges, ports and options it created. Running it twice
 * must change nothing (--may-exist).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVtopo } from '../runtime/cli-run.js';
import { runOk } from '../support/run.js';
import { startOvsdb, type OvsdbFixture } from './ovsdb-fixture.js';

const dir = mkdtempSync('/tmp/vtexp-');
let db: OvsdbFixture;
const vsctl = (...args: string[]) => execFileSync('ovs-vsctl', ['--no-wait', `--db=unix:${db.sock}`, ...args], { encoding: 'utf8' }).trim();

beforeAll(async () => {
    db = await startOvsdb();
    vsctl('init');
});
afterAll(async () => {
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
});

describe('ovs-vsctl export, run for real', () => {
    it('creates the ovs bridges, vhost-user ports, NIC and patch links of examples', async () => {
        const file = path.join(dir, 'lab.vtopo');
        writeFileSync(file, `topology explab {
  host { cores 0-1  memory 4G  poll-cores 1 }
  bridge b0 { datapath ovs }
  bridge b1 { datapath ovs  mtu 9000 }
  link b0 b1
  nic up { driver af_packet "veth-x"  queues 2  bridge b0 }
  vm a { cpus 2  memory 256M  port eth0 { bridge b0  queues 2  ip 10.9.0.1/24 } }
  vm b { cpus 1  memory 256M  port eth0 { bridge b1  mtu 9000  mrg-rxbuf on  ip 10.9.0.2/24  vhost server } }
}
`);
        const r = await runVtopo(path.join(dir, 'run'), ['export', file, '--format', 'ovs-vsctl']);
        expect(r.code, r.stderr).toBe(0);
        const script = path.join(dir, 'export.sh');
        writeFileSync(script, r.stdout);
        const env = { ...process.env, VSCTL: `ovs-vsctl --no-wait --db=unix:${db.sock}` };
        for (let i = 0; i < 2; i++) await runOk('sh', [script], { env });

        expect(vsctl('list-br').split('\n').sort()).toEqual(['b0', 'b1']);
        expect(vsctl('get', 'Bridge', 'b0', 'datapath_type')).toBe('netdev');
        const ports0 = vsctl('list-ports', 'b0').split('\n').sort();
        expect(ports0).toContain('a.eth0');
        expect(ports0.some((p) => p.startsWith('patch'))).toBe(true);
        expect(vsctl('list-ports', 'b1').split('\n')).toContain('b.eth0');
        expect(vsctl('get', 'Interface', 'a.eth0', 'type')).toBe('dpdkvhostuserclient');
        expect(vsctl('get', 'Interface', 'a.eth0', 'options:vhost-server-path')).toMatch(/a\.eth0\.sock"?$/);
        expect(vsctl('get', 'Interface', 'b.eth0', 'type')).toBe('dpdkvhostuser');
        expect(vsctl('get', 'Interface', 'b.eth0', 'mtu_request')).toBe('9000');
        const nic = vsctl('list-ports', 'b0').split('\n').find((p) => !p.startsWith('patch') && p !== 'a.eth0')!;
        expect(vsctl('get', 'Interface', nic, 'type')).toBe('dpdk');
        expect(vsctl('get', 'Interface', nic, 'options:dpdk-devargs')).toMatch(/net_af_packet.*iface=veth-x/);
        expect(vsctl('get', 'Interface', nic, 'options:n_rxq')).toMatch(/^"?2"?$/);
        expect(vsctl('get', 'Open_vSwitch', '.', 'other_config:dpdk-init')).toMatch(/^"?true"?$/);
        // Idempotent: the second run added nothing (2 bridge-internal, 2 VM ports, the NIC, 2 patch ends).
        expect(vsctl('--columns=name', 'list', 'Interface').split('\n').filter((l) => l.startsWith('name')).length).toBe(7);
    });
});
