/**
 * Text read from a socket or a pipe arrives in chunks that may cut a UTF-8
 * character in two. Decoding each chunk on its own turns both halves into
 * U+FFFD; every reader here decodes across chunks. Checked on the datapath
 * control socket (both ends) and on command output (exec.ts), with the cut
 * forced by a pause between the two halves.
 */
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/backends/ovs/exec.js';
import { controlRequest } from '../../src/datapath/control-client.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { sleep } from '../support/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vtopo-utf8-'));
let dp: DatapathProc | undefined;

afterAll(async () => {
    await dp?.stop();
    rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` in two parts cut inside the character at `at`, pausing between them. */
async function writeCut(sock: net.Socket, text: string, at: number): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    const cut = Buffer.byteLength(text.slice(0, at), 'utf8') + 1;
    sock.write(bytes.subarray(0, cut));
    await sleep(80);
    sock.write(bytes.subarray(cut));
}

describe('UTF-8 cut between chunks', () => {
    it('the datapath reads a request whose character is cut in two', async () => {
        dp = new DatapathProc(dir);
        await dp.start();
        const name = 'brü';
        const sock = net.createConnection(dp.ctl);
        await new Promise((r) => sock.once('connect', r));
        const reply = new Promise<string>((resolve) => {
            let got = '';
            sock.setEncoding('utf8');
            sock.on('data', (d: string) => {
                got += d;
                if (got.includes('\n')) resolve(got);
            });
        });
        const line = `${JSON.stringify({ id: 1, op: 'add-bridge', name })}\n`;
        await writeCut(sock, line, line.indexOf('ü'));
        expect(JSON.parse(await reply)).toMatchObject({ id: 1, ok: true });
        sock.destroy();
        expect(await dp.req('inventory', {})).toMatchObject({ bridges: [name] });
    });

    it('the control client reads a reply whose character is cut in two', async () => {
        const socket = path.join(dir, 'fake.sock');
        const server = net.createServer((c) => {
            c.once('data', async (d) => {
                const { id } = JSON.parse(d.toString());
                const line = `${JSON.stringify({ id, ok: true, result: { name: 'brü' } })}\n`;
                await writeCut(c, line, line.indexOf('ü'));
            });
        });
        await new Promise<void>((r) => server.listen(socket, r));
        try {
            expect(await controlRequest(socket, 'inventory', {})).toEqual({ name: 'brü' });
        } finally {
            server.close();
        }
    });

    it('command output keeps a character the command wrote in two parts', async () => {
        const r = await run('sh', ['-c', "printf 'gr\\303'; sleep 0.1; printf '\\274n'; printf 'x\\342\\202' >&2; sleep 0.1; printf '\\254' >&2"]);
        expect(r.stdout).toBe('grün');
        expect(r.stderr).toBe('x€');
    });
});
