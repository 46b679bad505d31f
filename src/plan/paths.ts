/** Where everything of a topology lives under its run directory. Pure. */
import * as path from 'node:path';
import { VtopoError } from '../core/api.js';
import { SUN_PATH_BYTES } from '../core/limits.js';

/** sockaddr_un.sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = SUN_PATH_BYTES;

/** runRoot comes absolute from the caller (host facts): the plan never reads the working directory. */
export function runDirOf(runRoot: string, topology: string, host?: string): string {
    // One host's part (`--host H`) has a directory of its own: on one machine it sits beside the whole topology's.
    return path.join(runRoot, host ? `${topology}@${host}` : topology);
}

export interface VmPaths {
    qmpSocket: string;
    agentSocket: string;
    consoleSocket: string;
    serialLog: string;
    qemuLog: string;
    pidFile: string;
}

export function vmPaths(runDir: string, vm: string): VmPaths {
    const d = path.join(runDir, 'vm');
    return {
        qmpSocket: path.join(d, `${vm}.qmp`),
        agentSocket: path.join(d, `${vm}.agent`),
        consoleSocket: path.join(d, `${vm}.console`),
        serialLog: path.join(d, `${vm}.serial.log`),
        qemuLog: path.join(d, `${vm}.qemu.log`),
        pidFile: path.join(d, `${vm}.pid`),
    };
}

export function vhostSocketPath(runDir: string, vm: string, port: string): string {
    return path.join(runDir, 'vhost', `${vm}.${port}.sock`);
}

/** Throws a VtopoError naming the longest offender when a unix socket path would not fit. */
export function assertSocketPaths(runRoot: string, sockets: { what: string; path: string }[]): void {
    const tooLong = sockets.filter((s) => Buffer.byteLength(s.path) > MAX_SOCKET_PATH)
        .sort((a, b) => Buffer.byteLength(b.path) - Buffer.byteLength(a.path));
    if (tooLong.length === 0) return;
    const worst = tooLong[0];
    const excess = Buffer.byteLength(worst.path) - MAX_SOCKET_PATH;
    throw new VtopoError(
        `the unix socket path for ${worst.what} is ${Buffer.byteLength(worst.path)} bytes, over the ${MAX_SOCKET_PATH}-byte limit of sockaddr_un: ${worst.path}`,
        `shorten the names involved by ${excess}+ characters, or set VTOPO_RUN_ROOT to a shorter directory than ${runRoot}`,
        'socket-path-too-long',
    );
}
