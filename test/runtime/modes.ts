import { lstatSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Walks `root` and lists what is not owner-only: directories must be 0700,
 * sockets 0600 (`exactSockets`) or at least closed to group and others,
 * files closed to group and others; everything owned by us. `sockets` are
 * the socket paths relative to `root`.
 */
export function modeProblems(root: string, opts: { exactSockets: boolean }): { bad: string[]; sockets: string[] } {
    const bad: string[] = [];
    const sockets: string[] = [];
    const walk = (p: string) => {
        const st = lstatSync(p);
        const mode = st.mode & 0o777;
        if (st.uid !== process.getuid!()) bad.push(`${p} owned by uid ${st.uid}`);
        if (st.isDirectory()) {
            if (mode !== 0o700) bad.push(`dir ${p} ${mode.toString(8)}`);
            for (const n of readdirSync(p)) walk(path.join(p, n));
        } else if (st.isSocket()) {
            sockets.push(path.relative(root, p));
            const ok = opts.exactSockets ? mode === 0o600 : (mode & 0o077) === 0 && (mode & 0o600) === 0o600;
            if (!ok) bad.push(`socket ${p} ${mode.toString(8)}`);
        } else if (st.isFile() && (mode & 0o077) !== 0) {
            bad.push(`file ${p} ${mode.toString(8)}`);
        }
    };
    walk(root);
    return { bad, sockets };
}
