/**
 * A bridge's learned (VLAN, MAC) → port table: open addressing in typed arrays so
 * the per-packet lookup and refresh never allocate. Entries age out by
 * timestamp; a full table is flushed (frames flood until relearned).
 */
const CAP = 8192;
const MASK = CAP - 1;

export class MacTable {
    /** VLAN << 16 | the MAC's first two bytes. */
    private readonly hi = new Int32Array(CAP);
    private readonly lo = new Int32Array(CAP);
    /** Port number + 1; 0 = empty slot. */
    private readonly port = new Int32Array(CAP);
    private readonly seen = new Float64Array(CAP);
    private used = 0;
    /** Bumped whenever a MAC → port mapping appears, moves or goes: forwarding caches compare it. */
    gen = 0;

    constructor(public agingMs: number) {}

    private static slot(hi: number, lo: number): number {
        return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 19) & MASK;
    }

    /** Port number for the MAC at u8[off..off+6] in VLAN `vid`, or -1 (unknown or aged). */
    lookup(u8: Uint8Array, off: number, vid: number, now: number): number {
        const hi = (vid << 16) | (u8[off] << 8) | u8[off + 1];
        const lo = (u8[off + 2] << 24) | (u8[off + 3] << 16) | (u8[off + 4] << 8) | u8[off + 5];
        for (let s = MacTable.slot(hi, lo), n = 0; n < CAP; s = (s + 1) & MASK, n++) {
            const p = this.port[s];
            if (p === 0) return -1;
            if (this.hi[s] === hi && this.lo[s] === lo) return p > 0 && now - this.seen[s] <= this.agingMs ? p - 1 : -1;
        }
        return -1;
    }

    learn(u8: Uint8Array, off: number, vid: number, port: number, now: number): void {
        const hi = (vid << 16) | (u8[off] << 8) | u8[off + 1];
        const lo = (u8[off + 2] << 24) | (u8[off + 3] << 16) | (u8[off + 4] << 8) | u8[off + 5];
        let s = MacTable.slot(hi, lo);
        for (let n = 0; n < CAP; s = (s + 1) & MASK, n++) {
            const p = this.port[s];
            if (p === 0) break;
            if (this.hi[s] === hi && this.lo[s] === lo) {
                if (p !== port + 1) {
                    this.port[s] = port + 1;
                    this.gen++;
                }
                this.seen[s] = now;
                return;
            }
        }
        if (this.used >= (CAP * 3) >> 2) {
            this.flush();
            s = MacTable.slot(hi, lo);
        }
        this.hi[s] = hi;
        this.lo[s] = lo;
        this.port[s] = port + 1;
        this.seen[s] = now;
        this.used++;
        this.gen++;
    }

    /** Forgets every MAC behind `port` (port removed or gone down). */
    forgetPort(port: number): void {
        // Kept as a tombstone (-1) so probe chains stay intact.
        for (let s = 0; s < CAP; s++) if (this.port[s] === port + 1) this.port[s] = -1;
        this.gen++;
    }

    flush(): void {
        this.port.fill(0);
        this.used = 0;
        this.gen++;
    }

    entries(now: number): { mac: string; vlan: number; port: number; age_s: number }[] {
        const out = [];
        for (let s = 0; s < CAP; s++) {
            const p = this.port[s];
            if (p <= 0 || now - this.seen[s] > this.agingMs) continue;
            const hi = this.hi[s];
            const lo = this.lo[s] >>> 0;
            const b = [(hi >> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
            out.push({ mac: b.map((x) => x.toString(16).padStart(2, '0')).join(':'), vlan: hi >>> 16, port: p - 1, age_s: Math.round((now - this.seen[s]) / 1000) });
        }
        return out;
    }
}
