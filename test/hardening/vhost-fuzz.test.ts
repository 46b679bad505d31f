/**
 * A hostile vhost-user frontend against the real datapath process, with a
 * dpdk-testpmd pair forwarding through the same process the whole time.
 * Directed attacks first (each must be refused or fail only the victim,
 * with the reason in status), then a seeded random run. The long run is
 * `npx tsx bench/fuzz/vhost.ts`.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { closeAll, openFd, type FdKind } from '../fuzz/fd-zoo.js';
import { GuestMem } from '../support/guest-ring.js';
import { startLivePair, type LivePair } from '../fuzz/live-pair.js';
import { DatapathProc } from '../support/datapath-proc.js';
import { until } from '../support/wait.js';
import { Rng } from '../support/rng.js';
import { beyondEofAttack, closeDevice, establish, newDevice, txRingAttack, type Device } from '../fuzz/vhost-cases.js';
import { Frontend } from '../support/vhost-frontend.js';
import { runVhostFuzz } from '../fuzz/vhost-run.js';
import { memTable, message, Req, u64, vringAddr } from '../support/vhost-wire.js';
import { tempDir } from '../support/wait.js';

describe('hostile vhost-user frontend', () => {
    const dir = tempDir('vhost-fuzz');
    const dp = new DatapathProc(dir);
    let pair: LivePair | undefined;
    const sock = path.join(dir, 'd.sock');
    const mem = new GuestMem(undefined, 'vtopo-fuzz-directed');

    beforeAll(async () => {
        await dp.start();
        pair = await startLivePair(dp, dir);
        await dp.req('add-bridge', { name: 'directed', mtu: 1500 });
        await dp.req('add-vhost-port', { port: 'directed.v', bridge: 'directed', socket: sock, mode: 'server', queues: 1 });
    }, 120_000);
    afterAll(async () => {
        pair?.stop();
        await dp.stop();
        mem.close();
        rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh, fully set-up victim device. */
    async function victim(): Promise<Device> {
        mem.zeroRegion();
        const d = newDevice(new Frontend(sock), mem);
        await until('victim connects', () => { try { d.fe.connect(); return true; } catch { return false; } }, 5000, 10);
        expect(await establish(d)).toBeUndefined();
        return d;
    }

    async function victimStatus() {
        return (await dp.status()).ports.find((p) => p.id === 'directed.v')!;
    }

    async function expectOnlyVictimFailed(reason: RegExp): Promise<void> {
        const p = await until('victim marked failed', async () => { const s = await victimStatus(); return s.vhost === 'failed' ? s : undefined; }, 5000);
        expect(p.error).toMatch(reason);
        expect(dp.alive).toBe(true);
        expect(await pair!.check()).toBeUndefined();
    }

    it.each([
        ['a self loop', 0, undefined, /longer than|loop/],
        ['a two-descriptor loop', 1, undefined, /longer than|loop/],
        ['a ring-long chain', 2, undefined, /longer than|loop/],
        ['a next index out of range', 4, undefined, /next index/],
        ['a write-only buffer', 5, undefined, /direction/],
        ['an indirect table of bad length', 6, 0, /indirect/],
        ['a nested indirect table', 6, 2, /indirect/],
        ['an indirect descriptor with next', 6, 3, /indirect/],
        ['a head index out of range', 11, undefined, /head index/],
    ] as const)('a TX chain with %s fails only the victim, with the reason in status', async (_name, kind, indirect, reason) => {
        const d = await victim();
        try {
            txRingAttack(new Rng(kind * 31 + (indirect ?? 0)), d, kind, indirect);
            await expectOnlyVictimFailed(reason);
        } finally {
            closeDevice(d);
        }
    });

    it('an avail index far ahead fails only the victim', async () => {
        const d = await victim();
        try {
            d.tx.setAvailIdx(d.tx.availIdx + 1000);
            signalEventfd(d.kick[1]);
            await expectOnlyVictimFailed(/avail index/);
        } finally {
            closeDevice(d);
        }
    });

    it('rings outside every region fail only the victim', async () => {
        const d = await victim();
        try {
            const out = BigInt(mem.layout.uva + mem.layout.size + 4096);
            await d.fe.send(message(Req.SET_VRING_ADDR, vringAddr(1, out, out + 0x2000n, out + 0x1000n)));
            await expectOnlyVictimFailed(/outside the memory table/);
        } finally {
            closeDevice(d);
        }
    });

    // Each of these killed the datapath before it was fixed (SIGABRT in koffi, or SIGBUS).
    it.each<[string, () => { payload: Uint8Array; fds: number[]; owned: number[] }]>([
        ['a region over 4 GiB', () => { const fd = openFd('memfd-sparse-5g'); return { payload: memTable([{ gpa: 0x100000n, size: 5n << 30n, uva: 0x7f0000000000n, offset: 0n }]), fds: [fd], owned: [fd] }; }],
        ['a region past the end of its file', () => ({ payload: memTable([{ gpa: 0x100000n, size: 4n << 20n, uva: 0x7f0000000000n, offset: 65536n }]), fds: [mem.fd], owned: [] })],
        ['a region at the top of the address space', () => ({ payload: memTable([{ gpa: 0xffff_ffff_ffff_f000n - (1n << 20n), size: 1n << 20n, uva: 0x7f0000000000n, offset: 65536n }]), fds: [mem.fd], owned: [] })],
    ])('SET_MEM_TABLE with %s is refused and the datapath lives', async (_name, make) => {
        const d = await victim();
        const t = make();
        try {
            expect(await d.fe.acked(Req.SET_MEM_TABLE, t.payload, t.fds)).toBe(1n);
            expect(dp.alive).toBe(true);
            expect(await d.fe.barrier()).toBe(true);
        } finally {
            closeAll(t.owned);
            closeDevice(d);
        }
    });

    it.each<FdKind>(['dir', 'empty-file', 'proc-ro', 'socket', 'devnull'])('a %s as kick or call fd is refused and the datapath lives', async (kind) => {
        const d = await victim();
        const fd = openFd(kind);
        try {
            expect(await d.fe.acked(Req.SET_VRING_KICK, u64(1n), [fd])).toBe(1n);
            expect(await d.fe.acked(Req.SET_VRING_CALL, u64(0n), [fd])).toBe(1n);
            expect(dp.alive).toBe(true);
        } finally {
            closeAll([fd]);
            closeDevice(d);
        }
    });

    it('a ring placed past the end of the file never reaches the switch', async () => {
        const d = await victim();
        try {
            const a = beyondEofAttack(d);
            await d.fe.send(a.bytes, a.fds);
            await d.fe.send(a.ring);
            expect(await d.fe.barrier()).toBe(true);
            signalEventfd(d.kick[1]);
            expect(await d.fe.barrier()).toBe(true);
            expect(dp.alive).toBe(true);
        } finally {
            closeDevice(d);
        }
    });

    it('survives a seeded random run while the testpmd pair keeps forwarding; nothing leaks', async () => {
        const before = await pair!.received();
        const s = await runVhostFuzz({ seed: 20261125, cases: 15_000, dir, dp, checkEvery: 2500, maxSteps: 300, check: () => pair!.check() });
        const report = s.findings.slice(0, 3).map((f) => `${f.kind}: ${f.message}\nlast cases:\n  ${f.recent.slice(-10).join('\n  ')}`);
        expect(report).toEqual([]);
        expect(s.cases).toBe(15_000);
        expect(s.handshakes).toBeGreaterThan(20);
        expect(s.checkpoints).toBeGreaterThanOrEqual(6);
        const after = await pair!.received();
        expect(after[0]).toBeGreaterThan(before[0]);
        expect(after[1]).toBeGreaterThan(before[1]);
        expect(dp.alive).toBe(true);
    }, 240_000);
});

