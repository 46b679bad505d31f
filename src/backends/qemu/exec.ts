/**
 * `vtopo exec`: a command run in the guest by the agent over its exec
 * channel (virtio-serial vtopo.exec, guest/rootfs/vtopo-agent). The request
 * is `ID run ARG…` with every argument base64; the answers are JSON lines
 * carrying ID: `started`, then `out`/`err` chunks (base64) while it runs,
 * then `exit`. Answers with another ID (a client that left early) are skipped.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { VmPlan } from '../../core/plan.js';
import { VtopoError } from '../../core/api.js';
import { vmFiles } from './files.js';

export interface ExecIo {
    stdout(chunk: Buffer): void;
    stderr(chunk: Buffer): void;
}

export interface ExecOptions {
    /** Aborting ends the command in the guest (the agent kills it) and resolves with its exit code. */
    signal?: AbortSignal;
    /** How long the agent may take to start the command. */
    startTimeoutMs?: number;
}

/** Runs argv in the guest; resolves with its exit code (127 when the guest finds no such command). */
export function agentExec(vm: VmPlan, argv: string[], io: ExecIo, opts: ExecOptions = {}): Promise<number> {
    if (argv.length === 0) return Promise.reject(new VtopoError('exec needs a command', 'write it after --, e.g. vtopo exec FILE VM -- ip addr', 'bad-args'));
    if (argv.some((a) => a === '')) return Promise.reject(new VtopoError('exec cannot pass an empty argument to the guest', 'leave the empty argument out', 'bad-args'));
    const socket = vmFiles(vm).execSocket;
    const id = randomBytes(4).toString('hex');
    const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
        const sock = connect(socket);
        let buf = '';
        let done = false;
        let started = false;
        const finish = (err: Error | undefined, code?: number) => {
            if (done) return;
            done = true;
            clearTimeout(startTimer);
            opts.signal?.removeEventListener('abort', onAbort);
            sock.destroy();
            if (err) reject(err);
            else resolve(code!);
        };
        const startTimer = setTimeout(() => finish(new VtopoError(
            `vm ${vm.name}: the agent did not start the command within ${Math.round(startTimeoutMs / 1000)} s`,
            'another `vtopo exec` of this guest may hold its exec channel (one at a time): wait for it to end; or see `vtopo status` (is the guest up?)',
            'exec-busy')), startTimeoutMs);
        const onAbort = () => {
            if (!sock.destroyed) sock.write(`${randomBytes(4).toString('hex')} kill ${id}\n`);
            // The agent answers with the exit code; a guest that cannot gets a few seconds.
            setTimeout(() => finish(undefined, 130), 5000).unref();
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        sock.on('connect', () => {
            sock.write(`${id} run ${argv.map((a) => Buffer.from(a).toString('base64')).join(' ')}\n`);
            if (opts.signal?.aborted) onAbort();
        });
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl).trim();
                buf = buf.slice(nl + 1);
                let msg: { id?: string; started?: boolean; out?: string; err?: string; exit?: number; error?: string };
                try {
                    msg = JSON.parse(line);
                } catch {
                    continue; // a partial line of someone else's answer
                }
                if (msg.id !== id) continue;
                if (msg.started && !started) {
                    started = true;
                    clearTimeout(startTimer);
                }
                if (msg.out) io.stdout(Buffer.from(msg.out, 'base64'));
                if (msg.err) io.stderr(Buffer.from(msg.err, 'base64'));
                if (typeof msg.exit === 'number') {
                    if (msg.error) io.stderr(Buffer.from(`${msg.error}\n`));
                    finish(undefined, msg.exit);
                }
            }
        });
        sock.on('error', (e: NodeJS.ErrnoException) => finish(new VtopoError(
            `vm ${vm.name}: cannot reach its agent's exec channel at ${socket} (${e.code ?? e.message})`,
            e.code === 'ENOENT' ? `is the guest running? see \`vtopo status FILE\`; a guest started before vtopo exec existed needs a restart (vtopo restart FILE ${vm.name})` : 'see `vtopo status`',
            'exec-unreachable')));
        sock.on('close', () => finish(new VtopoError(`vm ${vm.name}: the exec channel closed before the command ended`, 'the guest stopped or restarted; see `vtopo status`', 'exec-unreachable')));
    });
}
