/**
 * The control protocol is one typed op map (src/core/control.ts) for the
 * client and the server: arguments of the wrong shape are compile errors
 * (the @ts-expect-error lines below fail `tsc` the day they stop being
 * errors), every op of the map is served, and what comes off the wire is
 * still checked field by field before an op runs.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_OPS, isControlOp, type ControlResult } from '../../src/core/control.js';
import { controlRequest } from '../../src/datapath/control-client.js';
import { Datapath, OpError } from '../../src/datapath/datapath.js';

/** Never called: tsc checks these lines, vitest does not run them. */
async function typeChecks(socket: string): Promise<void> {
    const inv = await controlRequest(socket, 'inventory', {});
    const bridges: string[] = inv.bridges;
    const st: ControlResult['status'] = await controlRequest(socket, 'status', {});
    const frames: number = (await controlRequest(socket, 'capture-stop', { port: 'p' })).frames;
    void [bridges, st, frames];
    // @ts-expect-error a misspelt argument
    await controlRequest(socket, 'add-bridge', { nme: 'br' });
    // @ts-expect-error a required argument missing
    await controlRequest(socket, 'add-link', { link: 'l', a: 'x' });
    // @ts-expect-error a vhost mode the datapath does not have
    await controlRequest(socket, 'add-vhost-port', { port: 'p', bridge: 'b', socket: 's', mode: 'listen' });
    // @ts-expect-error an op the datapath does not have
    await controlRequest(socket, 'add-vlan', {});
    // @ts-expect-error a field the result does not have
    void (await controlRequest(socket, 'add-bridge', { name: 'br' })).created;
    const dp = new Datapath(() => {});
    const existed: boolean = (await dp.op({ op: 'add-bridge', name: 'br' })).existed;
    void existed;
    // @ts-expect-error in-process requests are typed too
    await dp.op({ op: 'remove-port', prt: 'p' });
}
void typeChecks;

describe('datapath control protocol', () => {
    it('serves every op of the map but shutdown (the process serves that) and names them all for an unknown one', async () => {
        const dp = new Datapath(() => {});
        try {
            expect(CONTROL_OPS).toContain('shutdown');
            expect(CONTROL_OPS.every(isControlOp)).toBe(true);
            expect(isControlOp('toString')).toBe(false);
            for (const op of CONTROL_OPS) {
                const err = await dp.serve({ op }).then(() => undefined, (e: Error) => e);
                if (op === 'shutdown') expect(err?.message).toBe("unknown op 'shutdown'");
                // Served: either it ran with no arguments or it refused one of them, never "unknown op".
                else if (err) expect(err.message, op).not.toMatch(/unknown op/);
            }
            const err = (await dp.serve({ op: 'add-vlan' }).catch((e) => e)) as OpError;
            expect(err).toBeInstanceOf(OpError);
            expect(err.fix).toBe(`use one of ${CONTROL_OPS.join(', ')}`);
        } finally {
            dp.close();
        }
    });

    it('checks the arguments off the wire before an op runs', async () => {
        const dp = new Datapath(() => {});
        try {
            const refused = (req: { op: string; [k: string]: unknown }) => dp.serve(req).then(() => 'ran', (e: OpError) => e.message);
            expect(await refused({ op: 'add-bridge', name: 7 })).toBe("missing or empty 'name'");
            expect(await refused({ op: 'add-bridge', name: 'br', mtu: '1500' })).toBe("'mtu' must be a non-negative integer");
            expect(await refused({ op: 'add-bridge', name: 'br', aging_s: -1 })).toBe("'aging_s' must be a non-negative integer");
            expect(await refused({ op: 'add-bridge', name: 'br' })).toBe('ran');
            expect(await refused({ op: 'add-vhost-port', port: 'p', bridge: 'br', socket: '/nonexistent/p.sock', mode: 'listen' })).toBe('port p: mode must be client or server');
            expect(await refused({ op: 'set-idle' })).toBe("'us' must be a non-negative integer");
            // The object id falls back to `id` (the request id) when `port` is absent.
            expect(await dp.serve({ op: 'remove-port', id: 'nothing' })).toEqual({ existed: false });
            expect(await dp.op({ op: 'inventory' })).toEqual({ bridges: ['br'], links: [], vmPorts: [], nics: [] });
        } finally {
            dp.close();
        }
    });
});
