/** A throwaway ovsdb-server on the real vswitch schema (or another, e.g. OVN's NB), in a temp dir. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface OvsdbFixture {
    dir: string;
    sock: string;
    pid: number;
    /** Kills the server (the db file stays) so a test can restart it. */
    kill(): Promise<void>;
    restart(): Promise<void>;
    stop(): Promise<void>;
}

export async function startOvsdb(schema = VSWITCH_SCHEMA): Promise<OvsdbFixture> {
    const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-ovsdb-'));
    const db = path.join(dir, 'conf.db');
    const sock = path.join(dir, 'db.sock');
    const r = spawnSync('ovsdb-tool', ['create', db, schema], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr}`);
    let child: ReturnType<typeof spawn> | undefined;
    const launch = async () => {
        child = spawn('ovsdb-server', [db, `--remote=punix:${sock}`, `--unixctl=${path.join(dir, 'ctl')}`,
            `--log-file=${path.join(dir, 'ovsdb-server.log')}`, '-vconsole:off', '-vjsonrpc:file:dbg'], { detached: true, stdio: 'ignore' });
        const end = Date.now() + 10_000;
        while (!existsSync(sock)) {
            if (Date.now() > end) throw new Error('ovsdb-server did not create its socket');
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ovsdb-server exited ${child.exitCode}`);
            await new Promise((res) => setTimeout(res, 20));
        }
    };
    const kill = async () => {
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
        const gone = new Promise((res) => c.once('exit', res));
        try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
        await gone;
        rmSync(sock, { force: true });
    };
    await launch();
    return {
        dir, sock,
        get pid() { return child?.pid ?? 0; },
        kill,
        restart: async () => { await kill(); await launch(); },
        stop: async () => { await kill(); rmSync(dir, { recursive: true, force: true }); },
    };
}
