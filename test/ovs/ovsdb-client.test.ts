import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CfgTimeoutError, transactAndWait } from '../../src/backends/ovs/ovsdb/cfg.js';
import { OvsdbClient, OvsdbRpcError, OvsdbTransactError, type RowChange } from '../../src/backends/ovs/ovsdb/client.js';
import { map, namedUuid, op, set, toArray, toRecord, uuid, uuidOf } from '../../src/backends/ovs/ovsdb/values.js';
import { startOvsdb, type OvsdbFixture } from './ovsdb-fixture.js';

const DB = 'Open_vSwitch';
let srv: OvsdbFixture;
let c: OvsdbClient;

async function until(cond: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > end) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
    }
}

/** Inserts bridge `name` with one internal port, linked from the root row. */
function addBridgeOps(name: string) {
    return [
        op.insert('Interface', { name, type: 'internal' }, 'iface'),
        op.insert('Port', { name, interfaces: set([namedUuid('iface')]) }, 'port'),
        op.insert('Bridge', { name, ports: set([namedUuid('port')]), datapath_type: 'netdev', external_ids: map({ 'vtopo-topology': 't1' }) }, 'br'),
        op.mutate('Open_vSwitch', [], [['bridges', 'insert', set([namedUuid('br')])]]),
    ];
}

beforeAll(async () => {
    srv = await startOvsdb();
    c = await OvsdbClient.connect(`unix:${srv.sock}`, { reconnect: true, backoffMinMs: 20, backoffMaxMs: 200 });
    await c.transact(DB, [op.insert('Open_vSwitch', {})]);
});

afterAll(async () => {
    c?.close();
    await srv?.stop();
});

describe('OvsdbClient against a real ovsdb-server', () => {
    it('lists databases and reads the vswitch schema', async () => {
        expect(await c.listDbs()).toContain(DB);
        const schema = await c.getSchema(DB);
        expect(schema.name).toBe(DB);
        expect(Object.keys(schema.tables)).toEqual(expect.arrayContaining(['Bridge', 'Port', 'Interface', 'Open_vSwitch']));
        expect(schema.tables.Interface.columns).toHaveProperty('statistics');
    });

    it('echoes', async () => {
        expect(await c.echo(['ping', 1])).toEqual(['ping', 1]);
    });

    it('inserts with uuid-name, selects, updates, mutates and garbage-collects on delete', async () => {
        const r = await c.transact(DB, addBridgeOps('br0'));
        const brUuid = uuidOf(r[2].uuid)!;
        expect(brUuid).toMatch(/^[0-9a-f-]{36}$/);

        const sel = await c.transact(DB, [op.select('Bridge', [['name', '==', 'br0']], ['_uuid', 'ports', 'datapath_type', 'external_ids'])]);
        const row = sel[0].rows![0];
        expect(uuidOf(row._uuid)).toBe(brUuid);
        expect(row.datapath_type).toBe('netdev');
        expect(toRecord(row.external_ids)).toEqual({ 'vtopo-topology': 't1' });
        expect(toArray(row.ports)).toHaveLength(1);

        const upd = await c.transact(DB, [op.update('Interface', [['name', '==', 'br0']], { mtu_request: 9000 })]);
        expect(upd[0].count).toBe(1);
        const mut = await c.transact(DB, [op.mutate('Bridge', [['_uuid', '==', uuid(brUuid)]], [['external_ids', 'insert', map({ extra: 'x' })]])]);
        expect(mut[0].count).toBe(1);
        const sel2 = await c.transact(DB, [op.select('Bridge', [['_uuid', '==', uuid(brUuid)]], ['external_ids']), op.select('Interface', [['name', '==', 'br0']], ['mtu_request'])]);
        expect(toRecord(sel2[0].rows![0].external_ids)).toEqual({ 'vtopo-topology': 't1', extra: 'x' });
        expect(sel2[1].rows![0].mtu_request).toBe(9000);

        await c.transact(DB, [op.mutate('Open_vSwitch', [], [['bridges', 'delete', set([uuid(brUuid)])]])]);
        const gone = await c.transact(DB, [op.select('Bridge', [], ['name']), op.select('Port', [], ['name']), op.select('Interface', [], ['name'])]);
        expect(gone.map((g) => g.rows!.length)).toEqual([0, 0, 0]);
    });

    it('reports a failed operation as OvsdbTransactError and rolls back', async () => {
        await c.transact(DB, addBridgeOps('dup'));
        const err = await c.transact(DB, addBridgeOps('dup')).catch((e) => e);
        expect(err).toBeInstanceOf(OvsdbTransactError);
        expect((err as OvsdbTransactError).error).toMatch(/constraint violation/);
        const rows = (await c.transact(DB, [op.select('Bridge', [['name', '==', 'dup']], ['name'])]))[0].rows!;
        expect(rows).toHaveLength(1);

        const waitErr = await c.transact(DB, [op.wait('Bridge', [['name', '==', 'dup']], ['datapath_type'], '==', [{ datapath_type: 'system' }], 0)]).catch((e) => e);
        expect(waitErr).toBeInstanceOf(OvsdbTransactError);
        expect((waitErr as OvsdbTransactError).error).toBe('timed out');
        const waitOk = await c.transact(DB, [op.wait('Bridge', [['name', '==', 'dup']], ['datapath_type'], '==', [{ datapath_type: 'netdev' }], 0)]);
        expect(waitOk).toHaveLength(1);

        await c.transact(DB, [op.delete('Bridge', [['name', '==', 'dup']]), op.mutate('Open_vSwitch', [], [['bridges', 'delete', set([])]])]).catch(() => undefined);
        const r = await c.transact(DB, [op.select('Bridge', [['name', '==', 'dup']], ['_uuid'])]);
        const u = r[0].rows![0]?._uuid;
        if (u) await c.transact(DB, [op.mutate('Open_vSwitch', [], [['bridges', 'delete', u]])]);
    });

    it('answers an RPC error for an unknown database', async () => {
        await expect(c.getSchema('nope')).rejects.toBeInstanceOf(OvsdbRpcError);
    });

    it('pushes monitor updates for insert, modify and delete', async () => {
        const changes: RowChange[] = [];
        const m = await c.monitor(DB, { Interface: { columns: ['name', 'mtu_request', 'external_ids'] } }, (cs) => changes.push(...cs));
        const r = await c.transact(DB, addBridgeOps('mon0'));
        await until(() => changes.some((x) => x.kind === 'insert' && x.row?.name === 'mon0'));
        const ifUuid = uuidOf(r[0].uuid)!;
        expect(m.tables.get('Interface')!.get(ifUuid)?.name).toBe('mon0');

        await c.transact(DB, [op.update('Interface', [['_uuid', '==', uuid(ifUuid)]], { mtu_request: 1400 })]);
        await until(() => changes.some((x) => x.kind === 'modify' && x.uuid === ifUuid));
        const mod = changes.find((x) => x.kind === 'modify')!;
        expect(mod.row!.mtu_request).toBe(1400);
        expect(mod.row!.name).toBe('mon0');
        expect(toArray(mod.old!.mtu_request)).toEqual([]);

        await c.transact(DB, [op.mutate('Open_vSwitch', [], [['bridges', 'delete', r[2].uuid!]])]);
        await until(() => changes.some((x) => x.kind === 'delete' && x.uuid === ifUuid));
        expect(changes.find((x) => x.kind === 'delete')!.old!.name).toBe('mon0');
        expect(m.tables.get('Interface')!.has(ifUuid)).toBe(false);
        await m.cancel();
    });

    it('cancels an outstanding request', async () => {
        await c.transact(DB, addBridgeOps('cx'));
        // A wait with no timeout blocks until the row changes, which it never will.
        const pending = c.startTransact(DB, [op.wait('Bridge', [['name', '==', 'cx']], ['datapath_type'], '==', [{ datapath_type: 'system' }])]);
        const early = await Promise.race([pending.result.then(() => 'done', () => 'failed'), new Promise((r) => setTimeout(() => r('blocked'), 200))]);
        expect(early).toBe('blocked');
        c.cancel(pending.id);
        await expect(pending.result).rejects.toThrow(/canceled/);
        const r = await c.transact(DB, [op.select('Bridge', [['name', '==', 'cx']], ['_uuid'])]);
        await c.transact(DB, [op.mutate('Open_vSwitch', [], [['bridges', 'delete', r[0].rows![0]._uuid]])]);
    });

    it('reconnects after the server restarts and resyncs monitors, reporting deletes made meanwhile', async () => {
        const r = await c.transact(DB, addBridgeOps('rc0'));
        const brUuid = uuidOf(r[2].uuid)!;
        const changes: RowChange[] = [];
        const m = await c.monitor(DB, { Bridge: { columns: ['name'] } }, (cs) => changes.push(...cs));
        expect(m.rows('Bridge').map((b) => b.name)).toContain('rc0');

        let reconnected = false;
        c.once('reconnect', () => { reconnected = true; });
        await srv.kill();
        await until(() => !c.connected);
        await expect(c.echo()).rejects.toThrow(/not connected/);
        // Change the database while no server runs.
        const tx = JSON.stringify([DB, op.mutate('Open_vSwitch', [], [['bridges', 'delete', uuid(brUuid)]])]);
        const t = spawnSync('ovsdb-tool', ['transact', path.join(srv.dir, 'conf.db'), tx], { encoding: 'utf8' });
        expect(t.status, t.stderr).toBe(0);
        await srv.restart();
        await until(() => reconnected, 10_000);
        expect(await c.echo(['back'])).toEqual(['back']);
        await until(() => changes.some((x) => x.kind === 'delete' && x.uuid === brUuid && x.initial));
        expect(m.rows('Bridge').map((b) => b.name)).not.toContain('rc0');
        await m.cancel();
    });
});

describe('transactAndWait (next_cfg → cur_cfg)', () => {
    it('returns once cur_cfg reaches next_cfg, as ovs-vswitchd would set it', async () => {
        // Stand in for ovs-vswitchd: copy next_cfg into cur_cfg after a delay.
        const fake = await OvsdbClient.connect(srv.sock);
        const m = await fake.monitor(DB, { Open_vSwitch: { columns: ['next_cfg'] } }, (cs) => {
            for (const ch of cs) {
                const n = ch.row?.next_cfg;
                setTimeout(() => { fake.transact(DB, [op.update('Open_vSwitch', [], { cur_cfg: n! })]).catch(() => undefined); }, 50);
            }
        });
        try {
            const before = (await c.transact(DB, [op.select('Open_vSwitch', [], ['next_cfg'])]))[0].rows![0].next_cfg as number;
            const res = await transactAndWait(c, addBridgeOps('cfg0'), 5000);
            expect(res).toHaveLength(4);
            const after = (await c.transact(DB, [op.select('Open_vSwitch', [], ['next_cfg', 'cur_cfg'])]))[0].rows![0];
            expect(after.next_cfg).toBe(before + 1);
            expect(after.cur_cfg).toBe(before + 1);
        } finally {
            await m.cancel();
            fake.close();
        }
    });

    it('times out when nothing applies the configuration', async () => {
        const err = await transactAndWait(c, [], 300).catch((e) => e);
        expect(err).toBeInstanceOf(CfgTimeoutError);
    });
});
