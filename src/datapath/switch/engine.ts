/**
 * The switch core: bridges, ports, and the NAPI-style scheduler. Queues
 * with traffic sit in the poll set and are busy-polled in ~1 ms slices
 * (yielding to the event loop between slices so control messages and kicks
 * are served); a queue idle for `idleMs` re-enables notifications and
 * leaves the set, to be woken by its kick eventfd. When the set is empty the
 * process sleeps in libuv. Completed RX work is published and signalled
 * once per queue batch (`flush`), not per packet; not once per round either:
 * with a fixed number of frames in flight, frames waiting for the rest of
 * the round to be polled were frames the peer could not work on (measured
 * in bench/datapath/loop.ts, 64 B: +5 % with one queue pair, +10 % with two).
 */
import { performance } from 'node:perf_hooks';
import type { Scheduler, Timed } from '../ports/netem.js';
import { Bridge } from './bridge.js';
import type { Port } from './port.js';

export interface Pollable {
    inPollSet: boolean;
    lastWork: number;
    /** Milliseconds of the poll loop spent in this queue's busy polls (status: usage %). */
    busyMs: number;
    /** Does up to `budget` packets of work; returns how many. */
    poll(budget: number): number;
    /** Idle: re-arm notifications; true when it may leave the poll set. */
    tryInterrupt(): boolean;
}

export interface Flushable {
    dirty: boolean;
    flush(): void;
}

/**
 * How long a queue busy-polls with nothing to do before it sleeps on its
 * kick fd. Measured in the loop bench: 0.2 ms made queues doze between
 * bursts (kick wake-ups cost ~20-50 µs) and lost half the rate; 2 ms kept
 * them polling under load while an idle queue still costs no CPU.
 */
export const DEFAULT_IDLE_MS = 2;
const BUDGET = 64;
const SLICE_MS = 1;
/**
 * Node fires a timer at whole milliseconds after it is due; work due this
 * close is done when the timer fires rather than a tick later.
 */
const TIMER_SLACK_MS = 0.5;

export class Engine implements Scheduler {
    readonly bridges = new Map<string, Bridge>();
    readonly ports = new Map<string, Port>();
    /** By Port.num; holes stay undefined so numbers in MAC tables never point at a new port. */
    readonly portArr: (Port | undefined)[] = [];
    /** Milliseconds (performance.now), refreshed once per polling round. */
    now = performance.now();
    readonly started = Date.now();
    private pollSet: Pollable[] = [];
    private dirty: Flushable[] = [];
    private nDirty = 0;
    private scheduled = false;
    rounds = 0;
    /** Egress qdiscs holding frames: one timer for the earliest of them, no polling while they wait. */
    private readonly timed = new Set<Timed>();
    private timer: NodeJS.Timeout | undefined;
    private timerAt = Infinity;

    constructor(
        public idleMs = DEFAULT_IDLE_MS,
        private readonly log: (m: string) => void = () => {},
    ) {}

    addBridge(name: string, mtu: number, agingMs?: number): Bridge {
        const b = new Bridge(name, mtu, this, agingMs);
        this.bridges.set(name, b);
        return b;
    }

    addPort(p: Port, bridge: Bridge): void {
        p.num = this.portArr.length;
        this.portArr.push(p);
        this.ports.set(p.id, p);
        bridge.attach(p);
    }

    removePort(p: Port): void {
        p.bridge?.detach(p);
        this.ports.delete(p.id);
        this.portArr[p.num] = undefined;
        const q = p.releaseQdisc();
        if (q) this.disarm(q);
        p.close();
    }

    /** Puts a queue in polling mode and makes sure the loop runs. */
    wake(q: Pollable): void {
        q.lastWork = this.now = performance.now();
        if (!q.inPollSet) {
            q.inPollSet = true;
            this.pollSet.push(q);
        }
        this.schedule();
    }

    /** Removes a queue that went away. */
    forget(q: Pollable): void {
        if (!q.inPollSet) return;
        q.inPollSet = false;
        this.pollSet = this.pollSet.filter((x) => x !== q);
    }

    clock(): number {
        return performance.now();
    }

    arm(t: Timed): void {
        const d = t.due;
        if (d === Infinity) return;
        this.timed.add(t);
        if (d < this.timerAt) this.setTimer(d);
    }

    /** A qdisc that went away. */
    disarm(t: Timed): void {
        this.timed.delete(t);
    }

    private setTimer(at: number): void {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.timerAt = at;
        this.timer = setTimeout(this.fire, Math.max(0, at - performance.now() - TIMER_SLACK_MS));
    }

    private readonly fire = (): void => {
        this.timer = undefined;
        this.timerAt = Infinity;
        const now = (this.now = performance.now());
        let next = Infinity;
        for (const t of this.timed) {
            try {
                if (t.due <= now + TIMER_SLACK_MS) t.run(now + TIMER_SLACK_MS);
            } catch (e) {
                this.log(`qdisc: ${(e as Error).stack ?? e}`);
            }
            const d = t.due;
            if (d === Infinity) this.timed.delete(t);
            else if (d < next) next = d;
        }
        this.flush();
        if (next < Infinity && next < this.timerAt) this.setTimer(next);
    };

    markDirty(f: Flushable): void {
        if (f.dirty) return;
        f.dirty = true;
        this.dirty[this.nDirty++] = f;
    }

    /**
     * (A count, not `length = 0`: truncating an array showed up at 5% in
     * profiles.) The count is re-read each step, so another queue marked
     * dirty by a flush is served in the same call rather than overwritten;
     * one marking itself is already dirty, so it cannot loop.
     */
    flush(): void {
        const d = this.dirty;
        for (let i = 0; i < this.nDirty; i++) {
            const f = d[i];
            f.flush();
            f.dirty = false;
        }
        this.nDirty = 0;
    }

    private schedule(): void {
        if (this.scheduled) return;
        this.scheduled = true;
        setImmediate(this.loop);
    }

    private readonly loop = (): void => {
        this.scheduled = false;
        const end = performance.now() + SLICE_MS;
        try {
            // The clock is read every 32 rounds: performance.now() cost 11% of a
            // busy loop when read every round. Idle detection only needs ~0.1 ms.
            let now = (this.now = performance.now());
            // Busy time: the time since the last clock read goes to the queue whose poll did work
            // (idle polls of the others in between are cheap; a refresh every 32 rounds resets it).
            let mark = now;
            while (this.pollSet.length > 0) {
                if ((++this.rounds & 31) === 0) mark = now = this.now = performance.now();
                const set = this.pollSet;
                let leaving = false;
                for (let i = 0; i < set.length; i++) {
                    const q = set[i];
                    if (!q.inPollSet) {
                        leaving = true;
                        continue;
                    }
                    const w = q.poll(BUDGET);
                    if (w > 0) {
                        const t = performance.now();
                        q.busyMs += t - mark;
                        mark = t;
                        q.lastWork = now;
                        // Publish what this queue's batch delivered now, not after the whole round.
                        this.flush();
                    } else if (now - q.lastWork > this.idleMs && q.tryInterrupt()) {
                        q.inPollSet = false;
                        leaving = true;
                    }
                }
                this.flush();
                if (leaving) this.pollSet = this.pollSet.filter((q) => q.inPollSet);
                if (now >= end) break;
            }
        } catch (e) {
            this.log(`poll loop: ${(e as Error).stack ?? e}`);
        }
        if (this.pollSet.length > 0) this.schedule();
    };
}
