/** Options several commands share. */
import { parseOvsdbRemote } from '../language/units.js';

export const OVSDB_USAGE = '--ovsdb unix:PATH';

/**
 * Takes `--ovsdb unix:PATH` (or `--ovsdb=unix:PATH`) out of `args`: the
 * database socket of an existing OvS, which overrides the file's
 * `host { ovsdb }`. `error` explains a missing or malformed value.
 */
export function takeOvsdb(args: string[]): { rest: string[]; ovsdb?: string; error?: string } {
    const rest: string[] = [];
    let ovsdb: string | undefined;
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === '--ovsdb' || a.startsWith('--ovsdb=')) {
            const value = a === '--ovsdb' ? args[++i] : a.slice('--ovsdb='.length);
            if (value === undefined || value === '') return { rest, error: `--ovsdb needs a value such as unix:/var/run/openvswitch/db.sock` };
            if (!parseOvsdbRemote(value)) {
                return { rest, error: `--ovsdb ${value} is not the unix socket of an OvS database on this host; write unix: and an absolute path, e.g. unix:/var/run/openvswitch/db.sock` };
            }
            ovsdb = value;
        } else {
            rest.push(a);
        }
    }
    return { rest, ...(ovsdb !== undefined ? { ovsdb } : {}) };
}

export interface FileCommandArgs {
    file: string;
    json: boolean;
    ovsdb?: string;
}

/**
 * The shape every runtime command shares: one FILE, optional --json (when
 * `allowJson`), optional --ovsdb. Returns the exit code 2 after printing the
 * usage when the arguments do not fit.
 */
export function fileCommandArgs(command: string, argv: string[], allowJson = true): FileCommandArgs | number {
    const usage = `usage: vtopo ${command} FILE${allowJson ? ' [--json]' : ''} [${OVSDB_USAGE}]\n`;
    const { rest, ovsdb, error } = takeOvsdb(argv);
    if (error) {
        process.stderr.write(`vtopo ${command}: ${error}\n${usage}`);
        return 2;
    }
    const files = rest.filter((a) => !a.startsWith('--'));
    const unknown = rest.filter((a) => a.startsWith('--') && !(allowJson && a === '--json'));
    if (files.length !== 1 || unknown.length) {
        process.stderr.write(`${unknown.length ? `vtopo ${command}: unknown option ${unknown[0]}\n` : ''}${usage}`);
        return 2;
    }
    return { file: files[0], json: rest.includes('--json'), ...(ovsdb !== undefined ? { ovsdb } : {}) };
}
