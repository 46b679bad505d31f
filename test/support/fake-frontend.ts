/**
 * A minimal vhost-user frontend (what QEMU does, reduced): shares a memfd
 * as guest memory, sets up one queue pair, sends frames on the TX ring and
 * reads them from the RX ring. It can also misbehave on purpose — that is
 * what it is for: malformed rings and messages QEMU would never send. The
 * connection and message framing are the wire frontend's (vhost-frontend.ts).
 */
import { drainEventfd, newEventfd, signalEventfd } from '../../src/datapath/sys/eventfd.js';
import { mapShared, memfd, type Mapping } from '../../src/datapath/sys/memory.js';
import { closeFd } from '../../src/datapath/sys/unix-socket.js';
import { PackedDriverRing, type GuestMem } from './guest-ring.js';
import { Frontend } from './vhost-frontend.js';
import { bit, F, FLAG_NEED_REPLY, FLAG_VERSION, memTable, message, PF, Req, u64, vringState } from './vhost-wire.js';
import { sleep, until } from './wait.js';

export const GPA = 0x100000;
export const UVA = 0x7f1000000000;
const MEM = 4 << 20;
const NUM = 256;
const BUF = 2048;
const RING = (i: number) => GPA + i * 0x10000;
const TXBUF = GPA + 0x40000;
const RXBUF = TXBUF + NUM * BUF;

export class FakeFrontend {
    readonly wire: Frontend;
    memFd = -1;
    map!: Mapping;
    dv!: DataView;
    u8!: Uint8Array;
    kick = [-1, -1];
    call = [-1, -1];
    private txAvail = 0;
    private rxAvail = 0;
    private rxUsedSeen = 0;
    private txNext = 0;
    features = bit(F.VERSION_1) | bit(F.MRG_RXBUF) | bit(F.PROTOCOL_FEATURES) | bit(F.RING_INDIRECT_DESC);
    /** Packed rings (set `features |= RING_PACKED` before setup): the two driver rings, laid where the split ones go. */
    private packedRings: PackedDriverRing[] | undefined;

    constructor(readonly socket: string) {
        this.wire = new Frontend(socket);
    }

    async connect(): Promise<void> {
        await until(`connect ${this.socket}`, () => {
            this.wire.connect();
            return true;
        }, 10_000, 50);
        if (this.memFd < 0) {
            this.memFd = memfd('fake-guest', MEM);
            this.map = mapShared(this.memFd, MEM, 0);
            this.u8 = new Uint8Array(this.map.buffer);
            this.dv = new DataView(this.map.buffer);
        }
    }

    private o(gpa: number): number {
        return gpa - GPA;
    }

    /** Sends a message; waits for and returns the reply payload when one is expected. */
    async request(req: number, payload: Uint8Array = new Uint8Array(0), fds: number[] = [], needReply = false, expectReply = needReply): Promise<Uint8Array | undefined> {
        const flags = FLAG_VERSION | (needReply ? FLAG_NEED_REPLY : 0);
        if (!expectReply) {
            if (!(await this.wire.send(message(req, payload, flags), fds))) throw new Error('backend closed the connection');
            return undefined;
        }
        const r = await this.wire.call(req, payload, fds, flags);
        if (!r) throw new Error(this.wire.open ? `no reply to request ${req}` : 'backend closed the connection');
        if ((r.flags & 0x4) === 0) throw new Error(`bad reply header to ${req}`);
        return r.payload;
    }

    /** True when the backend closed the connection. */
    async closedByPeer(timeoutMs = 3000): Promise<boolean> {
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
            this.wire.pump();
            if (!this.wire.open) return true;
            await sleep(20);
        }
        return false;
    }

    static u64(v: bigint): Uint8Array {
        return u64(v);
    }

    static state(index: number, num: number): Uint8Array {
        return vringState(index, num);
    }

    memTable(regions: { gpa: number; size: number; uva: number; offset: number }[]): Uint8Array {
        return memTable(regions.map((r) => ({ gpa: BigInt(r.gpa), size: BigInt(r.size), uva: BigInt(r.uva), offset: BigInt(r.offset) })));
    }

    /** The handshake QEMU performs, with REPLY_ACK on every setter; `pairs` queue pairs (rings 0 … 2·pairs-1; the MQ feature for more than one). */
    async setup(pairs = 1): Promise<void> {
        if (pairs > 1) this.features |= bit(F.MQ);
        const feats = new DataView((await this.request(Req.GET_FEATURES, undefined, [], false, true))!.buffer).getBigUint64(0, true);
        if ((feats & this.features) !== this.features) throw new Error(`backend lacks features: 0x${feats.toString(16)}`);
        const pf = new DataView((await this.request(Req.GET_PROTOCOL_FEATURES, undefined, [], false, true))!.buffer).getBigUint64(0, true);
        await this.request(Req.SET_PROTOCOL_FEATURES, FakeFrontend.u64(pf & (bit(PF.REPLY_ACK) | bit(PF.MQ))));
        await this.ack(Req.SET_OWNER);
        await this.ack(Req.SET_FEATURES, FakeFrontend.u64(this.features));
        await this.ack(Req.SET_MEM_TABLE, this.memTable([{ gpa: GPA, size: MEM, uva: UVA, offset: 0 }]), [this.memFd]);
        this.packedRings = undefined;
        for (let i = 0; i < 2 * pairs; i++) {
            this.u8.fill(0, this.o(RING(i)), this.o(RING(i)) + 0x3000);
            await this.ack(Req.SET_VRING_NUM, FakeFrontend.state(i, NUM));
            const a = new Uint8Array(40);
            const dv = new DataView(a.buffer);
            dv.setUint32(0, i, true);
            dv.setBigUint64(8, BigInt(UVA + RING(i) - GPA), true);
            dv.setBigUint64(16, BigInt(UVA + RING(i) + 0x2000 - GPA), true);
            dv.setBigUint64(24, BigInt(UVA + RING(i) + 0x1000 - GPA), true);
            await this.ack(Req.SET_VRING_ADDR, a);
            await this.ack(Req.SET_VRING_BASE, FakeFrontend.state(i, this.packed ? 0x8000 : 0));
            this.call[i] = newEventfd();
            this.kick[i] = newEventfd();
            await this.ack(Req.SET_VRING_CALL, FakeFrontend.u64(BigInt(i)), [this.call[i]]);
            await this.ack(Req.SET_VRING_KICK, FakeFrontend.u64(BigInt(i)), [this.kick[i]]);
            await this.ack(Req.SET_VRING_ENABLE, FakeFrontend.state(i, 1));
        }
        this.txAvail = this.rxAvail = this.rxUsedSeen = this.txNext = 0;
    }

    private get packed(): boolean {
        return (this.features & bit(F.RING_PACKED)) !== 0n;
    }

    /** The packed driver rings over this frontend's memory (desc at RING(i), driver area +0x1000, device area +0x2000). */
    private packedRing(ring: number): PackedDriverRing {
        if (!this.packedRings) {
            const mem = { off: (gpa: number) => this.o(gpa), dv: this.dv, map: this.map } as unknown as GuestMem;
            this.packedRings = [0, 1].map((i) => new PackedDriverRing(mem, NUM, RING(i), RING(i) + 0x1000, RING(i) + 0x2000));
        }
        return this.packedRings[ring];
    }

    /** A setter with NEED_REPLY: throws unless the backend acked success. */
    async ack(req: number, payload?: Uint8Array, fds: number[] = []): Promise<void> {
        const r = await this.request(req, payload, fds, true);
        const v = new DataView(r!.buffer).getBigUint64(0, true);
        if (v !== 0n) throw new Error(`backend refused request ${req} (${v})`);
    }

    /** Returns the ack value (0 = success) of any request sent with NEED_REPLY. */
    async ackValue(req: number, payload?: Uint8Array, fds: number[] = []): Promise<bigint> {
        const r = await this.request(req, payload, fds, true);
        return new DataView(r!.buffer).getBigUint64(0, true);
    }

    setDesc(ring: number, i: number, addr: number, len: number, flags: number, next = 0): void {
        if (this.packed) return this.packedRing(ring).writeDesc(i, addr, len, flags, next);
        const o = this.o(RING(ring)) + 16 * i;
        this.dv.setBigUint64(o, BigInt(addr), true);
        this.dv.setUint32(o + 8, len, true);
        this.dv.setUint16(o + 12, flags, true);
        this.dv.setUint16(o + 14, next, true);
    }

    private postAvail(ring: number, head: number): void {
        if (this.packed) {
            if (ring === 1) this.txAvail++;
            else this.rxAvail++;
            return this.packedRing(ring).post(head);
        }
        const base = this.o(RING(ring) + 0x1000);
        const idx = ring === 1 ? this.txAvail++ : this.rxAvail++;
        this.dv.setUint16(base + 4 + 2 * (idx % NUM), head, true);
        Atomics.store(new Uint16Array(this.map.buffer, base, 2), 1, (idx + 1) & 0xffff);
    }

    /** Offers `count` 2 KB receive buffers. */
    postRx(count: number): void {
        for (let k = 0; k < count; k++) {
            const slot = this.rxAvail % NUM;
            this.setDesc(0, slot, RXBUF + slot * BUF, BUF, 2 /* WRITE */);
            this.postAvail(0, slot);
        }
        signalEventfd(this.kick[0]);
    }

    /** Offers receive buffers of `len` bytes at the given descriptor heads, in that order. */
    postRxHeads(heads: number[], len: number): void {
        for (const h of heads) {
            this.setDesc(0, h, RXBUF + h * BUF, len, 2 /* WRITE */);
            this.postAvail(0, h);
        }
        signalEventfd(this.kick[0]);
    }

    /** The used ring's published entries, oldest first (the ring must not have wrapped). */
    usedEntries(ring: 0 | 1): { id: number; len: number }[] {
        if (this.packed) {
            const d = this.packedRing(ring);
            return Array.from({ length: d.usedIdx() }, (_, k) => d.usedElem(k));
        }
        const used = this.o(RING(ring) + 0x2000);
        const n = this.dv.getUint16(used + 2, true);
        return Array.from({ length: n }, (_, k) => ({ id: this.dv.getUint32(used + 4 + 8 * k, true), len: this.dv.getUint32(used + 8 + 8 * k, true) }));
    }

    /** Bytes the backend wrote into RX buffer `head`. */
    rxBuffer(head: number, len: number): Uint8Array {
        const at = this.o(RXBUF + head * BUF);
        return this.u8.slice(at, at + len);
    }

    /** Sends one frame; `split` puts the virtio-net header in its own descriptor; `slot` picks the head (even, below 254). */
    send(frame: Uint8Array, split = false, slot = this.txNext): void {
        if (slot === this.txNext) this.txNext = (this.txNext + 2) % NUM;
        const buf = TXBUF + slot * BUF;
        this.u8.fill(0, this.o(buf), this.o(buf) + 12);
        if (split) {
            this.u8.set(frame, this.o(buf) + 64);
            this.setDesc(1, slot, buf, 12, 1 /* NEXT */, slot + 1);
            this.setDesc(1, slot + 1, buf + 64, frame.length, 0);
        } else {
            this.u8.set(frame, this.o(buf) + 12);
            this.setDesc(1, slot, buf, 12 + frame.length, 0);
        }
        this.postAvail(1, slot);
        signalEventfd(this.kick[1]);
    }

    /** Posts a raw head on the TX ring (for malformed chains built with setDesc). */
    sendRaw(head: number): void {
        this.postAvail(1, head);
        signalEventfd(this.kick[1]);
    }

    txCompleted(): number {
        if (this.packed) return this.packedRing(1).usedIdx();
        return this.dv.getUint16(this.o(RING(1) + 0x2000) + 2, true);
    }

    /** Frames the backend delivered since the last call (header stripped). */
    received(): Uint8Array[] {
        if (this.packed) {
            const out = this.packedRing(0).reap().map((e) => this.u8.slice(this.o(RXBUF + e.id * BUF) + 12, this.o(RXBUF + e.id * BUF) + e.len));
            if (this.call[0] >= 0) drainEventfd(this.call[0]);
            return out;
        }
        const used = this.o(RING(0) + 0x2000);
        const idx = this.dv.getUint16(used + 2, true);
        const out: Uint8Array[] = [];
        while (this.rxUsedSeen !== idx) {
            const e = used + 4 + 8 * (this.rxUsedSeen % NUM);
            const id = this.dv.getUint32(e, true);
            const len = this.dv.getUint32(e + 4, true);
            const at = this.o(RXBUF + id * BUF);
            out.push(this.u8.slice(at + 12, at + len));
            this.rxUsedSeen = (this.rxUsedSeen + 1) & 0xffff;
        }
        if (this.call[0] >= 0) drainEventfd(this.call[0]);
        return out;
    }

    disconnect(): void {
        this.wire.close();
        for (const f of [...this.kick, ...this.call]) closeFd(f);
        this.kick = [-1, -1];
        this.call = [-1, -1];
    }

    close(): void {
        this.disconnect();
        this.map?.unmap();
        closeFd(this.memFd);
        this.memFd = -1;
    }
}

export function ethFrame(dst: string, src: string, payloadLen: number, seed: number): Uint8Array {
    const f = new Uint8Array(14 + payloadLen);
    const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
    f.set(mac(dst), 0);
    f.set(mac(src), 6);
    f[12] = 0x88;
    f[13] = 0xb5; // local experimental ethertype
    for (let i = 0; i < payloadLen; i++) f[14 + i] = (i * 31 + seed) & 0xff;
    return f;
}
