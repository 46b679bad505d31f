/** Options several commands share. */
import { parseOvsdbRemote } from '../language/units.js';

export const OVSDB_USAGE = '--ovsdb unix:PATH';

/**
 * Takes every `--NAME VALUE` (or `--NAME=VALUE`) out of `args`: the values in
 * order, `missing` when one came without a value.
 */
function takeOption(args: string[], name: string): { rest: string[]; values: string[]; missing: boolean } {
    const rest: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a !== `--${name}` && !a.startsWith(`--${name}=`)) {
            rest.push(a);
            continue;
        }
        const value = a === `--${name}` ? args[++i] : a.slice(name.length + 3);
        if (value === undefined || value === '') return { rest, values, missing: true };
        values.push(value);
    }
    return { rest, values, missing: false };
}

/**
 * Takes `--ovsdb unix:PATH` (or `--ovsdb=unix:PATH`) out of `args`: the
 * database socket of an existing OvS, which overrides the file's
 * `host { ovsdb }`. `error` explains a missing or malformed value.
 */
export function takeOvsdb(args: string[]): { rest: string[]; ovsdb?: string; error?: string } {
    const { rest, values, missing } = takeOption(args, 'ovsdb');
    if (missing) return { rest, error: `--ovsdb needs a value such as unix:/var/run/openvswitch/db.sock` };
    const bad = values.find((v) => !parseOvsdbRemote(v));
    if (bad !== undefined) {
        return { rest, error: `--ovsdb ${bad} is not the unix socket of an OvS database on this host; write unix: and an absolute path, e.g. unix:/var/run/openvswitch/db.sock` };
    }
    return { rest, ...(values.length ? { ovsdb: values[values.length - 1] } : {}) };
}

export const HOST_USAGE = '--host NAME';

/**
 * Takes `--host NAME` (or `--host=NAME`) out of `args`: one host of a
 * topology across hosts (a fabric), for the commands that act on one host's
 * part. Whether the name is a host of the file is the plan's to say.
 */
export function takeHost(args: string[]): { rest: string[]; host?: string; error?: string } {
    const { rest, values, missing } = takeOption(args, 'host');
    if (missing || values.some((v) => v.startsWith('-'))) return { rest, error: '--host needs the name of a host of the file, e.g. --host h2' };
    const hosts = [...new Set(values)];
    if (hosts.length > 1) return { rest, error: `--host given twice (${hosts.join(', ')}): name one host` };
    return { rest, ...(hosts.length ? { host: hosts[0] } : {}) };
}

export interface FileCommandArgs {
    file: string;
    json: boolean;
    ovsdb?: string;
    /** `--host H`: host H's part of a topology across hosts. */
    host?: string;
}

/**
 * The shape every runtime command shares: one FILE, optional --json (when
 * `allowJson`), optional --ovsdb and --host. Returns the exit code 2 after
 * printing the usage when the arguments do not fit.
 */
export function fileCommandArgs(command: string, argv: string[], allowJson = true): FileCommandArgs | number {
    const usage = `usage: vtopo ${command} FILE${allowJson ? ' [--json]' : ''} [${OVSDB_USAGE}] [${HOST_USAGE}]\n`;
    const h = takeHost(argv);
    const { rest, ovsdb, error } = takeOvsdb(h.rest);
    if (error ?? h.error) {
        process.stderr.write(`vtopo ${command}: ${error ?? h.error}\n${usage}`);
        return 2;
    }
    const files = rest.filter((a) => !a.startsWith('--'));
    const unknown = rest.filter((a) => a.startsWith('--') && !(allowJson && a === '--json'));
    if (files.length !== 1 || unknown.length) {
        process.stderr.write(`${unknown.length ? `vtopo ${command}: unknown option ${unknown[0]}\n` : ''}${usage}`);
        return 2;
    }
    return { file: files[0], json: rest.includes('--json'), ...(ovsdb !== undefined ? { ovsdb } : {}), ...(h.host !== undefined ? { host: h.host } : {}) };
}
