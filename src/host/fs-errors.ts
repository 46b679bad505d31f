/**
 * File-system failures a user can cause (a read-only or full disk, a run
 * root they cannot write) turned into a VtopoError that names the path, the
 * cause and the fix, instead of a stack trace.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import * as path from 'node:path';
import { VtopoError } from '../core/api.js';

const CAUSES: Record<string, string> = {
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exhausted',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is not a directory',
};

const FIX = 'free space or make it writable, or set VTOPO_RUN_ROOT to a writable directory (the default is /run/vtopo)';

/** The nearest existing ancestor of `p` cannot be written (a read-only mount answers mkdir -p with ENOENT). */
function unwritableAncestor(p: string): string | undefined {
    let dir = path.resolve(p);
    while (!existsSync(dir)) {
        const up = path.dirname(dir);
        if (up === dir) return undefined;
        dir = up;
    }
    try {
        accessSync(dir, constants.W_OK);
        return undefined;
    } catch (err) {
        return `${dir} is not writable (${CAUSES[(err as NodeJS.ErrnoException).code ?? ''] ?? (err as Error).message})`;
    }
}

/** A VtopoError for an errno failure on a path, or undefined when `err` is something else. */
export function fsFailure(err: unknown): VtopoError | undefined {
    const e = err as NodeJS.ErrnoException;
    if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string') return undefined;
    const cause = CAUSES[e.code];
    if (cause) return new VtopoError(`cannot write ${e.path}: ${cause} (${e.code})`, FIX, 'fs-unwritable');
    if (e.code === 'ENOENT') {
        const why = unwritableAncestor(e.path);
        if (why) return new VtopoError(`cannot write ${e.path}: ${why}`, FIX, 'fs-unwritable');
    }
    return undefined;
}

/** Runs a write step; file-system failures come out as a VtopoError. `file` names the target when the error does not (write(2) on an fd). */
export function writing<T>(f: () => T, file?: string): T {
    try {
        return f();
    } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (file && err instanceof Error && e.path === undefined) e.path = file;
        throw fsFailure(err) ?? err;
    }
}
