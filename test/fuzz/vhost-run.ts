/**
 * A seeded hostile-frontend run against a live datapath process. Ports on
 * bridge `fz`: `fuzz.v` (the victim, reconnected for every session) and
 * `fuzz.s` (a benign sender that makes the switch write into the victim's
 * RX buffers). Each session connects, optionally does the full handshake,
 * then sends mutated messages and ring attacks; each message or attack is
 * one case. Checkpoints assert that the process lives, answers, keeps the
 * sender healthy, explains every failed device, leaks neither fds nor
 * mappings once the victim is gone and never wrote outside the region.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { closeAll } from './fd-zoo.js';
import { GuestMem } from '../support/guest-ring.js';
import type { DatapathProc } from '../support/datapath-proc.js';
import { Rng } from '../support/rng.js';
import {
    beyondEofAttack, closeDevice, establish, memTableAttack, newDevice, protocolMessage, refillRx, rxRingAttack, sendFrame, txRingAttack,
    vringPlacementAttack, type Device,
} from './vhost-cases.js';
import { Frontend } from '../support/vhost-frontend.js';
import { sleep } from '../support/wait.js';
import { message, Req } from '../support/vhost-wire.js';

export interface VhostFinding { kind: string; message: string; session: number; recent: string[] }

export interface VhostRunOptions {
    seed: number;
    cases: number;
    dir: string;
    dp: DatapathProc;
    /** Cases between checkpoints. */
    checkEvery?: number;
    /** Extra check at each checkpoint (the testpmd pair); returns a problem or undefined. */
    check?: () => Promise<string | undefined>;
    onProgress?: (cases: number, sessions: number) => void;
    /** Stop at the first finding (tests) or keep going (bench). */
    stopOnFinding?: boolean;
    /** Most cases per victim session after its handshake (longer sessions: more cases per second). */
    maxSteps?: number;
}

export interface VhostRunSummary {
    cases: number;
    sessions: number;
    checkpoints: number;
    findings: VhostFinding[];
    /** Why the victim was marked failed, with counts: the status explains each failure. */
    failureReasons: Record<string, number>;
    handshakes: number;
    seconds: number;
}

const VICTIM = 'fuzz.v';
const SENDER = 'fuzz.s';

export async function runVhostFuzz(o: VhostRunOptions): Promise<VhostRunSummary> {
    const t0 = performance.now();
    const checkEvery = o.checkEvery ?? 2000;
    const vSock = path.join(o.dir, 'v.sock');
    const sSock = path.join(o.dir, 's.sock');
    const s: VhostRunSummary = { cases: 0, sessions: 0, checkpoints: 0, findings: [], failureReasons: {}, handshakes: 0, seconds: 0 };
    const recent: string[] = [];
    const note = (w: string) => { recent.push(w); if (recent.length > 40) recent.shift(); };
    const finding = (kind: string, msg: string) => s.findings.push({ kind, message: msg, session: s.sessions, recent: [...recent] });

    await o.dp.req('add-bridge', { name: 'fz', mtu: 1500 });
    await o.dp.req('add-vhost-port', { port: VICTIM, bridge: 'fz', socket: vSock, mode: 'server', queues: 1 });
    await o.dp.req('add-vhost-port', { port: SENDER, bridge: 'fz', socket: sSock, mode: 'server', queues: 1 });

    const senderMem = new GuestMem(undefined, 'vtopo-fuzz-sender');
    const sender = newDevice(new Frontend(sSock), senderMem);
    sender.fe.connect();
    const bad = await establish(sender);
    if (bad) throw new Error(`the benign sender's handshake failed: ${bad}`);
    refillRx(sender);
    signalEventfd(sender.kick[0]);

    const victimMem = new GuestMem(undefined, 'vtopo-fuzz-guest');
    let baseline: { fds: number; arenaGuest: number } | undefined;
    let sinceCheck = 0;

    const checkpoint = async (): Promise<boolean> => {
        s.checkpoints++;
        if (!o.dp.alive) {
            finding('datapath-died', `the datapath exited (code ${o.dp.exit?.code}, signal ${o.dp.exit?.signal}); stderr: ${o.dp.stderr.slice(-1500)}\nlog:\n${o.dp.logTail()}`);
            return false;
        }
        let st;
        try {
            st = await o.dp.status();
        } catch (e) {
            finding('datapath-unresponsive', `status failed: ${(e as Error).message}`);
            return false;
        }
        const sp = st.ports.find((p) => p.id === SENDER);
        if (!sp || sp.vhost !== 'connected' || sp.link !== 'up') finding('collateral', `the benign sender port is ${sp?.vhost}/${sp?.link}: ${sp?.error ?? ''}`);
        // The victim's session is over: everything it held must be released.
        const settled = await waitFor(() => {
            const r = o.dp.resources('vtopo-fuzz-guest');
            return r.mappings === 0 && (!baseline || r.fds <= baseline.fds) ? r : undefined;
        }, 3000);
        const r = o.dp.resources('vtopo-fuzz-guest');
        // Guest memory still booked in the arena (frame buffers may be added as traffic needs them).
        const arena = (await o.dp.status()).memory_arena;
        const arenaGuest = arena ? arena.used_bytes - arena.frame_buffer_bytes : 0;
        if (!baseline) baseline = { fds: r.fds, arenaGuest };
        else if (!settled) finding('leak', `after the victim disconnected the datapath holds ${r.fds} fds (baseline ${baseline.fds}) and ${r.mappings} mappings of its memory`);
        else if (arenaGuest > baseline.arenaGuest) finding('leak', `after the victim disconnected the guest memory arena still books ${arenaGuest} bytes of guest memory (baseline ${baseline.arenaGuest})`);
        const dmg = victimMem.canaryDamage();
        if (dmg >= 0) {
            finding('wild-write', `the datapath wrote outside the declared region: canary byte ${dmg} is 0x${victimMem.u8[dmg].toString(16)}`);
            victimMem.u8.fill(0xa5, 0, victimMem.layout.canary);
        }
        const extra = o.check ? await o.check() : undefined;
        if (extra) finding('collateral', extra);
        return true;
    };

    if (!(await checkpoint())) return done();
    const deadline = o.cases;
    while (s.cases < deadline) {
        const rng = Rng.forCase(o.seed, s.sessions);
        s.sessions++;
        victimMem.zeroRegion();
        const v = newDevice(new Frontend(vSock), victimMem);
        try {
            try {
                await connectWithRetry(v.fe, () => o.dp.alive);
            } catch (e) {
                if (o.dp.alive) finding('refused', `the victim port stopped accepting connections: ${(e as Error).message}`);
                break;
            }
            const deep = rng.chance(0.85);
            if (deep) {
                const why = await establish(v);
                if (why) finding('handshake-refused', `a benign handshake on a fresh connection failed: ${why}`);
                else s.handshakes++;
            }
            const steps = rng.range(1, deep ? o.maxSteps ?? 30 : 12);
            for (let k = 0; k < steps && v.fe.open && s.cases < deadline; k++) {
                s.cases++;
                sinceCheck++;
                const what = await step(rng, v, sender, deep);
                note(`s${s.sessions - 1}: ${what}`);
            }
            // Ask how the victim is doing before it goes: a failed device must say why.
            if (v.fe.open && rng.chance(0.05)) {
                await v.fe.barrier();
                await sleep(2);
                const st = await o.dp.status();
                const vp = st.ports.find((p) => p.id === VICTIM);
                if (vp?.vhost === 'failed') {
                    if (!vp.error) finding('unexplained-failure', 'the victim is failed but its status gives no reason');
                    const key = (vp.error ?? '').replace(/\d+/g, 'N');
                    s.failureReasons[key] = (s.failureReasons[key] ?? 0) + 1;
                }
            } else await v.fe.barrier(1000);
        } finally {
            closeDevice(v);
        }
        if (!o.dp.alive) { await checkpoint(); break; }
        if (sinceCheck >= checkEvery) {
            sinceCheck = 0;
            refillRx(sender);
            if (!(await checkpoint())) break;
            o.onProgress?.(s.cases, s.sessions);
        }
        if (o.stopOnFinding && s.findings.length) break;
    }
    if (!o.dp.alive || !s.findings.length) await checkpoint();
    return done();

    function done(): VhostRunSummary {
        closeDevice(sender);
        senderMem.close();
        victimMem.close();
        rmSync(vSock, { force: true });
        s.seconds = (performance.now() - t0) / 1000;
        return s;
    }
}

async function connectWithRetry(fe: Frontend, alive: () => boolean): Promise<void> {
    for (let i = 0; ; i++) {
        try {
            fe.connect();
            return;
        } catch (e) {
            // The switch accepts one frontend per port: wait until it saw the last one go.
            if (i > 400 || !alive()) throw e;
            await sleep(5);
        }
    }
}

async function waitFor<T>(f: () => T | undefined, ms: number): Promise<T | undefined> {
    const end = Date.now() + ms;
    for (;;) {
        const v = f();
        if (v !== undefined || Date.now() > end) return v;
        await sleep(20);
    }
}

async function step(rng: Rng, v: Device, sender: Device, deep: boolean): Promise<string> {
    const r = deep ? rng.int(100) : 0;
    if (r < 45) {
        // A broken header ends the connection: rare in deep sessions (they would end early), common in raw ones.
        const m = protocolMessage(rng, v, deep ? 0.02 : 0.3);
        try {
            await v.fe.send(m.bytes, m.fds);
        } finally {
            closeAll(m.owned);
        }
        if (rng.chance(0.2)) v.fe.pump();
        return m.what;
    }
    if (r < 55) {
        const t = memTableAttack(rng, v);
        try {
            await v.fe.send(message(Req.SET_MEM_TABLE, t.payload), t.fds);
        } finally {
            closeAll(t.owned);
        }
        return t.what;
    }
    if (r < 62) {
        const a = vringPlacementAttack(rng, v);
        for (const b of a.bytes) await v.fe.send(b);
        return a.what;
    }
    if (r < 65) {
        const a = beyondEofAttack(v);
        await v.fe.send(a.bytes, a.fds);
        await v.fe.send(a.ring);
        await v.fe.barrier(1000);
        signalEventfd(v.kick[1]);
        return a.what;
    }
    if (r < 88) {
        const w = txRingAttack(rng, v);
        if (rng.chance(0.25)) await v.fe.barrier(1000);
        return w;
    }
    if (r < 96) {
        const w = rxRingAttack(rng, v, sender);
        if (rng.chance(0.25)) await v.fe.barrier(1000);
        return w;
    }
    sendFrame(v);
    return 'benign tx frame';
}
