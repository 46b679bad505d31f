/**
 * OvsdbClient against a tiny fake OVSDB server on a unix socket: what the
 * client puts on the wire, byte for byte as JSON, without needing
 * ovsdb-server. (test/ovs/ovsdb-client.test.ts runs against the real one.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsdbClient, OvsdbTransactError } from '../../src/backends/ovs/ovsdb/client.js';
import { JsonStreamSplitter } from '../../src/backends/ovs/ovsdb/framing.js';
import { op, uuid } from '../../src/backends/ovs/ovsdb/values.js';

interface Wire { method?: string; params?: unknown[]; id?: unknown; result?: unknown; error?: unknown }

/** A fake server: records every message the client sends; `peer` is the accepted connection. */
class FakeOvsdb {
    readonly received: Wire[] = [];
    peer?: net.Socket;
    private waiters: (() => void)[] = [];
    private readonly server: net.Server;

    constructor(readonly sock: string, onMessage: (msg: Wire, peer: net.Socket) => void = () => undefined) {
        this.server = net.createServer((s) => {
            this.peer = s;
            const splitter = new JsonStreamSplitter();
            s.on('data', (chunk: Buffer) => {
                for (const m of splitter.push(chunk) as Wire[]) {
                    this.received.push(m);
                    onMessage(m, s);
                }
                for (const w of this.waiters.splice(0)) w();
            });
            s.on('error', () => undefined);
        });
    }

    listen(): Promise<void> {
        return new Promise((resolve) => this.server.listen(this.sock, resolve));
    }

    /** Resolves once a received message satisfies `pred`. */
    async next(pred: (m: Wire) => boolean, ms = 2000): Promise<Wire> {
        const end = Date.now() + ms;
        for (;;) {
            const hit = this.received.find(pred);
            if (hit) return hit;
            if (Date.now() > end) throw new Error(`no matching message; got ${JSON.stringify(this.received)}`);
            await new Promise<void>((r) => {
                this.waiters.push(r);
                setTimeout(r, 50);
            });
        }
    }

    async connected(ms = 2000): Promise<net.Socket> {
        const end = Date.now() + ms;
        while (!this.peer) {
            if (Date.now() > end) throw new Error('the client never connected');
            await new Promise((r) => setTimeout(r, 5));
        }
        return this.peer;
    }

    close(): Promise<void> {
        this.peer?.destroy();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}

let dir: string;
let srv: FakeOvsdb | undefined;
let client: OvsdbClient | undefined;

beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vt-ovsdb-'));
});

afterEach(async () => {
    client?.close();
    client = undefined;
    await srv?.close();
    srv = undefined;
    rmSync(dir, { recursive: true, force: true });
});

async function start(onMessage?: (msg: Wire, peer: net.Socket) => void): Promise<FakeOvsdb> {
    srv = new FakeOvsdb(path.join(dir, 'db.sock'), onMessage);
    await srv.listen();
    client = await OvsdbClient.connect(`unix:${srv.sock}`, { requestTimeoutMs: 2000 });
    return srv;
}

describe('OvsdbClient echo (RFC 7047 §4.1.11)', () => {
    it("answers the server's echo with the same params and id", async () => {
        const s = await start();
        const peer = await s.connected();
        peer.write(JSON.stringify({ method: 'echo', params: ['keepalive', 42, { nested: [true, null] }], id: 'echo' }));
        const reply = await s.next((m) => m.id === 'echo');
        expect(reply).toEqual({ result: ['keepalive', 42, { nested: [true, null] }], error: null, id: 'echo' });
    });

    it('answers echoes that arrive split across writes and back to back', async () => {
        const s = await start();
        const peer = await s.connected();
        const two = JSON.stringify({ method: 'echo', params: ['a{"}'], id: 1 }) + JSON.stringify({ method: 'echo', params: [], id: 2 });
        peer.write(two.slice(0, 17));
        await new Promise((r) => setTimeout(r, 20));
        peer.write(two.slice(17));
        expect(await s.next((m) => m.id === 1)).toEqual({ result: ['a{"}'], error: null, id: 1 });
        expect(await s.next((m) => m.id === 2)).toEqual({ result: [], error: null, id: 2 });
    });

    it('sends its own echo as a JSON-RPC request and resolves with the answer', async () => {
        await start((m, peer) => {
            if (m.method === 'echo') peer.write(JSON.stringify({ result: m.params, error: null, id: m.id }));
        });
        expect(await client!.echo(['ping'])).toEqual(['ping']);
        const sent = srv!.received.find((m) => m.method === 'echo')!;
        expect(sent).toEqual({ method: 'echo', params: ['ping'], id: expect.any(Number) });
    });
});

describe('OvsdbClient transact: delete (RFC 7047 §5.2.5)', () => {
    it('serialises a delete as {op, table, where} inside transact params after the database name', async () => {
        await start((m, peer) => {
            if (m.method === 'transact') peer.write(JSON.stringify({ result: [{ count: 2 }], error: null, id: m.id }));
        });
        const where: Parameters<typeof op.delete>[1] = [['name', '==', 'br0'], ['_uuid', '!=', uuid('3f8c1c7e-2b7a-4c1e-9f4e-0d6c2a1b9e11')]];
        const results = await client!.transact('Open_vSwitch', [op.delete('Bridge', where)]);
        expect(results).toEqual([{ count: 2 }]);
        const sent = srv!.received.find((m) => m.method === 'transact')!;
        expect(sent).toEqual({
            method: 'transact',
            params: ['Open_vSwitch', {
                op: 'delete',
                table: 'Bridge',
                where: [['name', '==', 'br0'], ['_uuid', '!=', ['uuid', '3f8c1c7e-2b7a-4c1e-9f4e-0d6c2a1b9e11']]],
            }],
            id: expect.any(Number),
        });
        // Exactly the members §5.2.5 defines: no row, columns or uuid-name.
        expect(Object.keys((sent.params as unknown[])[1] as object).sort()).toEqual(['op', 'table', 'where']);
    });

    it('sends an empty where as [] (delete every row) and reports a per-operation error as OvsdbTransactError', async () => {
        await start((m, peer) => {
            if (m.method === 'transact') peer.write(JSON.stringify({ result: [{ error: 'referential integrity violation', details: 'still referenced' }], error: null, id: m.id }));
        });
        const err = await client!.transact('Open_vSwitch', [op.delete('Port', [])]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OvsdbTransactError);
        expect((err as OvsdbTransactError).message).toMatch(/at delete Port: referential integrity violation \(still referenced\)/);
        expect(srv!.received.find((m) => m.method === 'transact')!.params).toEqual(['Open_vSwitch', { op: 'delete', table: 'Port', where: [] }]);
    });
});
