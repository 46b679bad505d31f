/**
 * The embedded datapath with the guest options the two-VM example leaves
 * out, end to end under TCG through the CLI: guest RAM on the topology's
 * hugetlbfs mount (`hugepages` in the host block) and a port in `vhost
 * server` mode (the switch listens, QEMU connects and reconnects). The
 * datapath is killed -9 and redeployed: the server-mode guest comes back
 * by itself, neither guest is restarted. Destroy gives the pages back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/core/status.js';
import { alive, sleep } from '../../src/host/procs.js';
import { type CliResult, runVtopo, runVtopoJson } from '../runtime/cli-run.js';
import { leftovers, mountsUnder } from '../runtime/leaks.js';

const dir = mkdtempSync('/tmp/vth-');
const runRoot = path.join(dir, 'run');
const runDir = path.join(runRoot, 'huge_srv');
const file = path.join(dir, 'huge-srv.vtopo');
writeFileSync(file, `topology huge_srv {
  host {
    cores 0-1
    memory 4G
    poll-cores 1
    hugepages 512M
  }

  bridge br0 { datapath embedded }

  vm a {
    cpus 1
    memory 256M
    port eth0 { bridge br0  ip 10.0.0.1/24  vhost server }
  }

  vm b {
    cpus 1
    memory 256M
    port eth0 { bridge br0  ip 10.0.0.2/24 }
  }
}
`);

const NR = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const pagesBefore = Number(readFileSync(NR, 'utf8'));

const vtopo = (...args: string[]): Promise<CliResult> => runVtopo(runRoot, args);
const json = <T>(...args: string[]): Promise<T> => runVtopoJson<T>(runRoot, args);
type Pairs = { pairs: { from: string; to: string; ok: boolean }[] };
const reachable = async () => (await json<Pairs>('verify', file)).pairs.map((p) => `${p.from}>${p.to}:${p.ok}`).sort();

afterAll(async () => {
    await vtopo('destroy', file);
    rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('e2e: hugetlbfs guest RAM and a vhost server port on the embedded datapath', () => {
    it('deploys, the guests run from the hugetlbfs mount, and every pair is reachable', async () => {
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(await reachable()).toEqual(['a>b:true', 'b>a:true']);
        const mounts = mountsUnder(runDir);
        expect(mounts.length).toBe(1);
        const s = await json<Status>('status', file);
        for (const vm of s.vms) {
            // QEMU maps its RAM from a (deleted) file on that mount.
            const maps = readFileSync(`/proc/${vm.pid}/maps`, 'utf8');
            expect(maps.includes(mounts[0]), `vm ${vm.name} maps`).toBe(true);
        }
        expect(s.ports.find((p) => p.id === 'a.eth0')).toMatchObject({ link: 'up' });
        // The budget: 256 x 2M reserved; each guest's RAM (a share of 128 pages) is mapped from them as the guest touches it
        // (the embedded switch maps guest memory, owns none).
        const hp = s.hugepages?.find((b) => b.page_kb === 2048);
        expect(hp, JSON.stringify(s.hugepages)).toMatchObject({ reserved: 256 });
        expect(hp!.users.map((u) => `${u.kind}:${u.name}:${u.share_pages}`).sort()).toEqual(['guest:a:128', 'guest:b:128']);
        for (const u of hp!.users) {
            expect(u.used_pages, u.name).toBeGreaterThan(0);
            expect(u.used_pages, u.name).toBeLessThanOrEqual(u.share_pages);
        }
        // a's port is vhost server mode: QEMU connects (and reconnects); b's QEMU listens.
        const cmd = (name: string) => readFileSync(`/proc/${s.vms.find((v) => v.name === name)!.pid}/cmdline`, 'utf8').split('\0').join(' ');
        expect(cmd('a')).toMatch(/-chardev socket,id=vhu0,path=\S*a\.eth0\S*,reconnect=1/);
        expect(cmd('b')).toMatch(/-chardev socket,id=vhu0,path=\S*b\.eth0\S*,server=on/);
    }, 300_000);

    it('after the datapath is killed -9, deploy restarts it and both guests reconnect without a restart', async () => {
        const s = await json<Status>('status', file);
        const vmPids = s.vms.map((v) => v.pid);
        const dp = s.datapaths[0].pid!;
        process.kill(dp, 'SIGKILL');
        await sleep(300);
        const d = await vtopo('deploy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        // The server-mode guest reconnects on its own (QEMU retries every second).
        const end = Date.now() + 60_000;
        let links: string[] = [];
        while (Date.now() < end) {
            links = (await json<Status>('status', file)).ports.map((p) => `${p.id}:${p.link}`).sort();
            if (links.every((l) => l.endsWith(':up'))) break;
            await sleep(1000);
        }
        expect(links).toEqual(['a.eth0:up', 'b.eth0:up']);
        expect(await reachable()).toEqual(['a>b:true', 'b>a:true']);
        const after = await json<Status>('status', file);
        expect(after.vms.map((v) => v.pid)).toEqual(vmPids);
        expect(after.datapaths[0].pid).not.toBe(dp);
    }, 180_000);

    it('destroy stops everything and gives the hugepages back', async () => {
        const s = await json<Status>('status', file);
        const pids = [...s.vms.map((v) => v.pid), s.datapaths[0].pid].filter((p): p is number => !!p);
        const d = await vtopo('destroy', file);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(d.stdout).toContain(`hugepages 2M: host ${pagesBefore + 256} → ${pagesBefore} pages; gave back 256 of the 256 this topology took`);
        expect(leftovers(runDir)).toEqual([]);
        for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
        expect(Number(readFileSync(NR, 'utf8'))).toBe(pagesBefore);
    }, 120_000);
});
