/** Client side of the datapath control socket: one JSON line per request, one per reply. */
import * as net from 'node:net';
import type { ControlArgs, ControlOp, ControlResult } from '../core/control.js';

export class ControlError extends Error {
    constructor(message: string, readonly fix?: string, readonly unreachable = false) {
        super(message);
        this.name = 'ControlError';
    }
}

let nextId = 1;

/** Sends `{id, op, ...args}` and resolves with `result`; rejects with ControlError. */
export function controlRequest<Op extends ControlOp>(socket: string, op: Op, args: ControlArgs[Op], timeoutMs = 10_000): Promise<ControlResult[Op]> {
    type T = ControlResult[Op];
    return new Promise((resolve, reject) => {
        const id = nextId++;
        const s = net.createConnection(socket);
        let buf = '';
        let done = false;
        const finish = (err: Error | undefined, v?: T) => {
            if (done) return;
            done = true;
            clearTimeout(t);
            s.destroy();
            if (err) reject(err);
            else resolve(v as T);
        };
        const t = setTimeout(() => finish(new ControlError(`datapath at ${socket} did not answer '${op}' within ${timeoutMs} ms`, 'check the datapath log; restart it with vtopo deploy')), timeoutMs);
        s.on('connect', () => s.write(JSON.stringify({ id, op, ...args }) + '\n'));
        // Decoded across chunks: a character split between two must not become U+FFFD.
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                let msg: { id: number; ok: boolean; result?: T; error?: { message: string; fix?: string } };
                try {
                    msg = JSON.parse(line);
                } catch {
                    finish(new ControlError(`datapath sent a malformed reply: ${line.slice(0, 200)}`));
                    return;
                }
                if (msg.id !== id) continue;
                if (msg.ok) finish(undefined, msg.result);
                else finish(new ControlError(msg.error?.message ?? 'datapath error', msg.error?.fix));
            }
        });
        s.on('error', (e: NodeJS.ErrnoException) =>
            finish(new ControlError(`cannot reach the datapath at ${socket}: ${e.code ?? e.message}`, 'start it (vtopo deploy) or check its log', true)),
        );
        s.on('close', () => finish(new ControlError(`datapath closed the control connection before answering '${op}'`, undefined, true)));
    });
}
