/** eventfds (vring kick/call) and level-triggered readiness on any fd. */
import { readlinkSync } from 'node:fs';
import { allocNative, c, check, koffi } from './libc.js';

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;

const one = allocNative(8);
one.u8[0] = 1;
const sink = allocNative(8);

export function newEventfd(): number {
    return check('eventfd', c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

/** Adds 1 to the counter: wakes whoever waits on it (a guest's irqfd). */
export function signalEventfd(fd: number): boolean {
    return Number(c.writeAt(fd, one.addr, 8)) === 8;
}

/** Reads and clears the counter; returns its value (0 when it was already clear). */
export function drainEventfd(fd: number): number {
    const n = Number(c.readAt(fd, sink.addr, 8));
    if (n !== 8) return 0;
    return sink.u8[0] + sink.u8[1] * 256 + sink.u8[2] * 65536 + sink.u8[3] * 16777216;
}

/**
 * Whether `fd` is an eventfd. A kick/call fd from a frontend must be one:
 * koffi.node.poll on a file or directory aborts the process (fatal N-API
 * error), and writing a call to a full pipe or socket would block the
 * whole switch (fuzz finding).
 */
export function isEventfd(fd: number): boolean {
    try {
        return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventfd]';
    } catch {
        return false;
    }
}

export interface FdWatch {
    close(): void;
}

/** Calls `onReadable` (level-triggered, from libuv's loop) while `fd` is readable. */
export function watchReadable(fd: number, onReadable: () => void): FdWatch {
    const h = koffi.node.poll(fd, { readable: true, disconnect: true }, () => onReadable());
    let open = true;
    return {
        close() {
            if (open) h.close();
            open = false;
        },
    };
}
