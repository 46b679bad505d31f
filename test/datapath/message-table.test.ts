/**
 * The vhost-user handler table: every request's payload size and fds are
 * checked before its handler runs. A message of the wrong size, or with fds
 * it does not take, is refused (a failed REPLY_ACK) and every fd it carried
 * is closed, whatever the handler would have done with it.
 */
import { fstatSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Datapath } from '../../src/datapath/datapath.js';
import { newEventfd } from '../../src/datapath/sys/eventfd.js';
import { memfd } from '../../src/datapath/sys/memory.js';
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { expectedFds, MESSAGE_HANDLERS, VhostUserDevice } from '../../src/datapath/vhost-user/device.js';
import { bit, FLAG_NEED_REPLY, FLAG_VERSION, HDR_LEN, PF, Req, reqName, VRING_NOFD } from '../../src/datapath/vhost-user/messages.js';
import { FakeFrontend } from '../support/fake-frontend.js';
import { tempDir, until } from '../support/wait.js';

const openFds = () => readdirSync('/proc/self/fd').length;
const isOpen = (fd: number) => {
    try {
        fstatSync(fd);
        return true;
    } catch {
        return false;
    }
};

/** A device with REPLY_ACK negotiated, and what it logged. */
function device(): { d: VhostUserDevice; log: string[]; send: (req: number, payload: Uint8Array, fds?: number[]) => bigint | Uint8Array | undefined; reset: () => void } {
    const log: string[] = [];
    const d = new VhostUserDevice({ onRingsChanged() {}, onKick() {}, log: (m) => log.push(m) }, 1);
    const send = (request: number, payload: Uint8Array, fds: number[] = []) => {
        const r = d.handle({ request, flags: FLAG_VERSION | FLAG_NEED_REPLY, payload, fds: [...fds] });
        if (!r) return undefined;
        const body = r.subarray(HDR_LEN);
        // Acks are u64 status words; GET_* replies carry their value the same way but are told apart by the caller.
        return body.length === 8 ? new DataView(body.buffer, body.byteOffset).getBigUint64(0, true) : body;
    };
    // A reset forgets the protocol features: ask for REPLY_ACK again after each.
    const reset = () => {
        d.reset();
        expect(send(Req.SET_PROTOCOL_FEATURES, FakeFrontend.u64(bit(PF.REPLY_ACK)))).toBe(0n);
    };
    reset();
    return { d, log, send, reset };
}

/** A payload of `len` bytes that passes the fd rule with `fds` fds (vring index 0; `fds` memory regions). */
function payloadFor(req: number, len: number, fds: number): Uint8Array {
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    if (len >= 4 && (req === Req.SET_VRING_KICK || req === Req.SET_VRING_CALL || req === Req.SET_VRING_ERR)) dv.setUint32(0, fds ? 0 : VRING_NOFD, true);
    if (len >= 4 && req === Req.SET_MEM_TABLE) dv.setUint32(0, fds, true);
    return b;
}

const sizes = (s: { exact: number } | { min: number }) => ('exact' in s ? { right: s.exact, wrong: [s.exact - 1, s.exact + 1, s.exact + 8].filter((n) => n >= 0) } : { right: s.min, wrong: [s.min - 1, 0].filter((n) => n >= 0 && n < s.min) });

const cleanup: (() => void)[] = [];
afterEach(() => {
    for (const c of cleanup.splice(0).reverse()) c();
});

describe('vhost-user handler table', () => {
    it('checks every entry\'s payload size before its handler runs', () => {
        const { d, log, send, reset } = device();
        cleanup.push(() => d.reset());
        for (const [req, h] of MESSAGE_HANDLERS) {
            const name = reqName(req);
            const { right, wrong } = sizes(h.size);
            for (const len of wrong) {
                const rule = h.fds === 'regions' ? 0 : h.fds === 'one' ? 1 : 0;
                const fds = Array.from({ length: rule }, () => newEventfd());
                log.length = 0;
                const r = send(req, payloadFor(req, len, rule), fds);
                expect(r, `${name} with ${len} bytes`).toBe(1n);
                expect(log.join('\n'), `${name} with ${len} bytes`).toMatch(new RegExp(`^${name}: payload ${len} bytes, expected (at least )?${right}: refused`));
                for (const fd of fds) expect(isOpen(fd), `${name}: fd ${fd} closed`).toBe(false);
            }
            // The right size gets past the size check (the handler may still refuse zeros).
            log.length = 0;
            const fds = h.fds === 'one' || h.fds === 'vring' ? [newEventfd()] : h.fds === 'regions' ? [memfd('vtopo-table', 1 << 20)] : [];
            send(req, payloadFor(req, h.fds === 'regions' ? right + 32 : right, fds.length), fds);
            expect(log.join('\n'), `${name} with ${right} bytes`).not.toMatch(/payload \d+ bytes, expected/);
            reset();
        }
    });

    it('refuses an fd on a message that takes none, and closes it (no fd leak)', () => {
        const { d, log, send } = device();
        cleanup.push(() => d.reset());
        const before = openFds();
        const none = [...MESSAGE_HANDLERS].filter(([, h]) => h.fds === 'none');
        expect(none.length).toBeGreaterThan(10);
        for (const [req, h] of none) {
            const name = reqName(req);
            const len = 'exact' in h.size ? h.size.exact : h.size.min;
            for (const n of [1, 3]) {
                const fds = Array.from({ length: n }, () => newEventfd());
                log.length = 0;
                expect(send(req, payloadFor(req, len, 0), fds), `${name} with ${n} fds`).toBe(1n);
                expect(log.join('\n')).toBe(`${name}: ${n} fds attached, expected 0: refused`);
                for (const fd of fds) expect(isOpen(fd), `${name}: fd ${fd} closed`).toBe(false);
            }
        }
        expect(d.seen.get('SET_OWNER')).toBe(2);
        expect(openFds()).toBe(before);
    });

    it('takes one eventfd on SET_VRING_KICK/CALL/ERR, none with VRING_NOFD, one fd per memory region', () => {
        const { d, log, send } = device();
        cleanup.push(() => d.reset());
        const before = openFds();
        for (const req of [Req.SET_VRING_KICK, Req.SET_VRING_CALL, Req.SET_VRING_ERR]) {
            const name = reqName(req);
            const nofdWithFd = newEventfd();
            expect(send(req, FakeFrontend.u64(BigInt(VRING_NOFD)), [nofdWithFd]), `${name} NOFD + fd`).toBe(1n);
            expect(isOpen(nofdWithFd)).toBe(false);
            expect(send(req, FakeFrontend.u64(0n), []), `${name} without fd`).toBe(1n);
            const two = [newEventfd(), newEventfd()];
            expect(send(req, FakeFrontend.u64(0n), two), `${name} with two fds`).toBe(1n);
            for (const fd of two) expect(isOpen(fd)).toBe(false);
            expect(send(req, FakeFrontend.u64(BigInt(VRING_NOFD)), []), `${name} NOFD`).toBe(0n);
            const kept = newEventfd();
            expect(send(req, FakeFrontend.u64(0n), [kept]), `${name} with its eventfd`).toBe(0n);
            expect(isOpen(kept), `${name}: the device keeps its eventfd`).toBe(true);
        }
        expect(log.filter((l) => /fds attached, expected [01]: refused$/.test(l))).toHaveLength(9);
        const mem = [memfd('vtopo-table', 1 << 20), memfd('vtopo-table', 1 << 20)];
        const table = new FakeFrontend('').memTable([{ gpa: 0x100000, size: 1 << 20, uva: 0x7f0000000000, offset: 0 }]);
        expect(send(Req.SET_MEM_TABLE, table, mem), 'one region, two fds').toBe(1n);
        for (const fd of mem) expect(isOpen(fd)).toBe(false);
        expect(log.at(-1)).toBe('SET_MEM_TABLE: 2 fds attached, expected 1: refused');
        expect(expectedFds('regions', new DataView(table.buffer))).toBe(1);
        d.reset();
        expect(openFds()).toBe(before);
    });

    it('refuses requests without an entry and closes their fds', () => {
        const { d, log, send } = device();
        cleanup.push(() => d.reset());
        for (const req of [Req.SET_BACKEND_REQ_FD, Req.IOTLB_MSG, Req.GET_CONFIG, 77]) {
            expect(MESSAGE_HANDLERS.has(req)).toBe(false);
            const fd = newEventfd();
            expect(send(req, new Uint8Array(8), [fd])).toBe(1n);
            expect(isOpen(fd)).toBe(false);
            expect(log.at(-1)).toMatch(/^unsupported request .* refused$/);
        }
    });

    it('over the socket: an fd on SET_OWNER is refused and closed in the datapath; the connection keeps working', async () => {
        const dir = tempDir('dp-table');
        const dp = new Datapath(() => {});
        const fe = new FakeFrontend(path.join(dir, 'p.sock'));
        cleanup.push(() => {
            fe.close();
            dp.close();
            rmSync(dir, { recursive: true, force: true });
        });
        await dp.op({ op: 'add-bridge', name: 'br' });
        await dp.op({ op: 'add-vhost-port', port: 'p', bridge: 'br', socket: path.join(dir, 'p.sock'), mode: 'server', queues: 1 });
        await fe.connect();
        await fe.setup();
        const before = openFds();
        const fd = newEventfd();
        expect(await fe.ackValue(Req.SET_OWNER, undefined, [fd])).toBe(1n);
        closeFd(fd);
        // The copy the datapath received was closed: the process holds as many fds as before.
        await until('fd count back', () => openFds() === before, 2000, 20);
        expect(await fe.ackValue(Req.SET_VRING_ENABLE, FakeFrontend.state(0, 1))).toBe(0n);
    });
});
