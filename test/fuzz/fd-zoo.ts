/**
 * File descriptors a hostile frontend attaches where the protocol wants a
 * memfd or an eventfd: wrong kinds (sockets, directories, read-only files,
 * /dev/null), memory files smaller than the region they back, sparse ones
 * larger than 4 GiB, sealed ones. The caller closes what it gets.
 */
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { newEventfd } from '../../src/datapath/sys/eventfd.js';
import { memfd } from '../../src/datapath/sys/memory.js';
import { addSeals, sealableMemfd, SEAL } from '../support/frontend.js';
import { newStreamSocket } from '../../src/datapath/sys/unix-socket.js';
import type { Rng } from '../support/rng.js';

export const FD_KINDS = ['eventfd', 'socket', 'devnull', 'devzero', 'proc-ro', 'dir', 'empty-file', 'memfd-small', 'memfd-page', 'memfd-sparse-5g', 'memfd-sealed'] as const;
export type FdKind = (typeof FD_KINDS)[number];

const scratchFile = path.join(tmpdir(), `vtopo-fuzz-empty-${process.pid}`);

export function openFd(kind: FdKind): number {
    switch (kind) {
        case 'eventfd': return newEventfd();
        case 'socket': return newStreamSocket();
        case 'devnull': return openSync('/dev/null', 'r+');
        case 'devzero': return openSync('/dev/zero', 'r+');
        case 'proc-ro': return openSync('/proc/self/status', 'r');
        case 'dir': return openSync(tmpdir(), 'r');
        case 'empty-file': {
            writeFileSync(scratchFile, '');
            const fd = openSync(scratchFile, 'r+');
            rmSync(scratchFile, { force: true });
            return fd;
        }
        case 'memfd-small': return memfd('vtopo-fuzz-small', 4096 * 3);
        case 'memfd-page': return memfd('vtopo-fuzz-page', 4096);
        case 'memfd-sparse-5g': return memfd('vtopo-fuzz-sparse', 5 * 2 ** 30);
        case 'memfd-sealed': {
            const fd = sealableMemfd('vtopo-fuzz-sealed', 64 * 1024);
            addSeals(fd, SEAL.SHRINK | SEAL.GROW | SEAL.SEAL);
            return fd;
        }
    }
}

export function randomFdKind(rng: Rng): FdKind {
    return rng.pick(FD_KINDS);
}

export function closeAll(fds: number[]): void {
    for (const fd of fds) if (fd >= 0) try { closeSync(fd); } catch { /* closed already */ }
}
