/**
 * Working in a running lab: `vtopo start|stop|restart FILE VM`,
 * `vtopo exec FILE VM -- CMD…`, `vtopo console FILE VM`,
 * `vtopo capture FILE PORT [-w OUT|-] [-c N] [--duration D]`,
 * `vtopo link FILE PORT down|up`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { formatProgress, reportError } from '../runtime/format.js';
import { runtime } from '../runtime/index.js';
import type { RuntimeOptions } from '../core/api.js';
import { HOST_USAGE, OVSDB_USAGE, takeHost, takeOvsdb } from './options.js';

function usage(command: string, shape: string, error?: string): number {
    process.stderr.write(`${error ? `vtopo ${command}: ${error}\n` : ''}usage: vtopo ${command} ${shape} [${OVSDB_USAGE}] [${HOST_USAGE}]\n`);
    return 2;
}

/** FILE and the positional words after it; --ovsdb and --host (a guest of that host's part) taken out. */
function positional(command: string, shape: string, argv: string[], count: number): { words: string[]; opts: RuntimeOptions } | number {
    const h = takeHost(argv);
    const { rest, ovsdb, error } = takeOvsdb(h.rest);
    if (error ?? h.error) return usage(command, shape, error ?? h.error);
    const unknown = rest.find((a) => a.startsWith('-'));
    if (unknown) return usage(command, shape, `unknown option ${unknown}`);
    if (rest.length !== count) return usage(command, shape);
    return { words: rest, opts: { ...(ovsdb ? { ovsdb } : {}), ...(h.host ? { host: h.host } : {}), onProgress: (e) => process.stderr.write(formatProgress(e)) } };
}

function guestCommand(name: 'start' | 'stop' | 'restart') {
    return async (argv: string[]): Promise<number> => {
        const a = positional(name, 'FILE VM', argv, 2);
        if (typeof a === 'number') return a;
        const [file, vm] = a.words;
        try {
            const op = name === 'start' ? runtime.startVm : name === 'stop' ? runtime.stopVm : runtime.restartVm;
            const s = await op(file, vm, a.opts);
            process.stdout.write(`vm ${s.name}: ${s.state}${s.reason ? ` (${s.reason})` : ''}\n`);
            return 0;
        } catch (err) {
            return reportError(err);
        }
    };
}

export const start = guestCommand('start');
export const stop = guestCommand('stop');
export const restart = guestCommand('restart');

/** `vtopo exec FILE VM -- CMD [ARGS…]`: exits with the command's exit code. */
export async function exec(argv: string[]): Promise<number> {
    const shape = 'FILE VM -- CMD [ARGS...]';
    const dash = argv.indexOf('--');
    if (dash < 0) return usage('exec', shape, 'write the command after --');
    const a = positional('exec', shape, argv.slice(0, dash), 2);
    if (typeof a === 'number') return a;
    const cmd = argv.slice(dash + 1);
    if (cmd.length === 0) return usage('exec', shape, 'no command after --');
    const [file, vm] = a.words;
    const ctl = new AbortController();
    const onSigint = () => ctl.abort();
    process.on('SIGINT', onSigint);
    try {
        return await runtime.exec(file, vm, cmd, {
            stdout: (b) => process.stdout.write(b),
            stderr: (b) => process.stderr.write(b),
        }, { ...a.opts, signal: ctl.signal });
    } catch (err) {
        return reportError(err);
    } finally {
        process.off('SIGINT', onSigint);
    }
}

const ESCAPE = 0x1d; // Ctrl-], as virsh console

/** `vtopo console FILE VM`: the serial console in raw mode until Ctrl-]. */
export async function console(argv: string[]): Promise<number> {
    const a = positional('console', 'FILE VM', argv, 2);
    if (typeof a === 'number') return a;
    const [file, vm] = a.words;
    let session;
    try {
        session = await runtime.attachConsole(file, vm, a.opts);
    } catch (err) {
        return reportError(err);
    }
    const s = session;
    return new Promise<number>((resolve) => {
        const sock = connect(s.socket);
        const stdin = process.stdin;
        let done = false;
        const end = (code: number, message?: string) => {
            if (done) return;
            done = true;
            if (stdin.isTTY) stdin.setRawMode(false);
            stdin.off('data', onKey);
            // pause() alone keeps a pipe's handle reading: with its writer still open
            // (a parent process, an editor) vtopo would never exit after Ctrl-].
            if (stdin.isTTY) stdin.pause();
            else stdin.destroy();
            sock.destroy();
            s.release();
            if (message) process.stderr.write(message);
            resolve(code);
        };
        const onKey = (d: Buffer) => {
            const at = d.indexOf(ESCAPE);
            if (at >= 0) {
                if (at > 0) sock.write(d.subarray(0, at));
                end(0, '\r\n');
                return;
            }
            sock.write(d);
        };
        sock.on('connect', () => {
            process.stderr.write(`connected to vm ${vm}'s console (escape character is ^])\r\n`);
            if (stdin.isTTY) stdin.setRawMode(true);
            stdin.on('data', onKey);
            stdin.resume();
            // Without a terminal (a pipe): input ends, the console stays until the guest closes it.
            stdin.on('end', () => { if (!stdin.isTTY) sock.end(); });
        });
        sock.on('data', (d) => process.stdout.write(d));
        sock.on('error', (e: NodeJS.ErrnoException) => end(1,
            `vtopo: cannot reach vm ${vm}'s console at ${s.socket}: ${e.code ?? e.message}\n  fix: is it running? see \`vtopo status ${file}\`, start it with \`vtopo start ${file} ${vm}\`\n`));
        sock.on('close', () => end(0, `\r\nvm ${vm}'s console closed\r\n`));
    });
}

/** `vtopo capture FILE PORT [-w OUT.pcap | -w -] [-c COUNT] [--duration D]`. */
export async function capture(argv: string[]): Promise<number> {
    const shape = 'FILE PORT [-w OUT.pcap | -w -] [-c COUNT] [--duration D]';
    const { rest, ovsdb, error } = takeOvsdb(argv);
    if (error) return usage('capture', shape, error);
    const words: string[] = [];
    let out: string | undefined;
    let count: number | undefined;
    let durationMs: number | undefined;
    for (let i = 0; i < rest.length; i++) {
        const x = rest[i];
        const value = () => rest[++i];
        if (x === '-w') {
            out = value();
            if (!out) return usage('capture', shape, '-w needs a file (or - for stdout)');
        } else if (x === '-c') {
            const v = value();
            count = Number(v);
            if (!v || !Number.isInteger(count) || count < 1) return usage('capture', shape, `-c needs a whole number of frames above 0, not ${v ?? 'nothing'}`);
        } else if (x === '--duration' || x.startsWith('--duration=')) {
            const v = x === '--duration' ? value() : x.slice('--duration='.length);
            const ms = v === undefined ? undefined : parseDurationArg(v);
            if (ms === undefined) return usage('capture', shape, `--duration needs a time such as 10s, 500ms or 2m, not ${v ?? 'nothing'}`);
            durationMs = ms;
        } else if (x.startsWith('-') && x !== '-') {
            return usage('capture', shape, `unknown option ${x}`);
        } else {
            words.push(x);
        }
    }
    if (words.length !== 2) return usage('capture', shape);
    const [file, port] = words;
    const target = out ?? `${port.replace(/[^A-Za-z0-9_.-]/g, '_')}.pcap`;
    const toStdout = target === '-';
    let stream: WriteStream | undefined;
    const ctl = new AbortController();
    const onSigint = () => ctl.abort();
    process.on('SIGINT', onSigint);
    // A reader that went away (`| head`) ends the capture, not vtopo with EPIPE.
    const onPipeError = () => ctl.abort();
    if (toStdout) process.stdout.on('error', onPipeError);
    try {
        const sink = (b: Buffer) => {
            if (toStdout) process.stdout.write(b);
            else (stream ??= createWriteStream(target, { mode: 0o644 })).write(b);
        };
        const r = await runtime.capture(file, port, sink, {
            ...(ovsdb ? { ovsdb } : {}),
            ...(count !== undefined ? { count } : {}),
            ...(durationMs !== undefined ? { durationMs } : {}),
            signal: ctl.signal,
            onStarted: () => process.stderr.write(`capturing ${port}${toStdout ? '' : ` into ${target}`} (Ctrl-C stops)\n`),
        });
        if (stream) await new Promise<void>((resolve, reject) => stream!.end((e?: Error | null) => (e ? reject(e) : resolve())));
        process.stderr.write(`${r.packets} frame(s) captured on ${port} (${r.datapath} datapath)${toStdout ? '' : ` into ${target}`}\n`);
        return 0;
    } catch (err) {
        stream?.destroy();
        return reportError(err);
    } finally {
        process.off('SIGINT', onSigint);
        if (toStdout) process.stdout.off('error', onPipeError);
    }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10s`, `500ms`, `2m`, `1h`; a bare number is seconds (tcpdump's habit). */
function parseDurationArg(v: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
    if (!m) return undefined;
    const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's'];
    return ms > 0 ? ms : undefined;
}

/** `vtopo link FILE PORT down|up`. */
export async function link(argv: string[]): Promise<number> {
    const a = positional('link', 'FILE PORT down|up', argv, 3);
    if (typeof a === 'number') return a;
    const [file, port, dir] = a.words;
    if (dir !== 'down' && dir !== 'up') return usage('link', 'FILE PORT down|up', `say down or up, not ${dir}`);
    try {
        await runtime.setLink(file, port, dir === 'up', a.opts);
        process.stdout.write(`${port}: link ${dir}\n`);
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
