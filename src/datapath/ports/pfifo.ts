/**
 * A bounded packet FIFO in one native block: the egress backlog of a queue
 * whose guest RX ring is full. Tail drop when full (counted by the caller).
 */
import { copyBytes, Frame } from '../virtio/frame.js';
import { frameBuffer, type FrameBuffer } from '../virtio/guest-memory.js';

export class Pfifo {
    private buf: FrameBuffer | undefined;
    private readonly lens: Uint32Array;
    private head = 0;
    count = 0;
    /** The frame at the head, for the drain loop. */
    readonly front = new Frame();

    constructor(
        readonly capacity: number,
        readonly slotSize: number,
    ) {
        this.lens = new Uint32Array(capacity);
    }

    private storage(): FrameBuffer {
        return (this.buf ??= frameBuffer(this.capacity * this.slotSize));
    }

    /** False when full or the frame exceeds a slot (the caller drops it). */
    push(f: Frame): boolean {
        if (this.count >= this.capacity || f.len > this.slotSize) return false;
        const m = this.storage();
        const slot = (this.head + this.count) % this.capacity;
        copyBytes(f.mem, f.off, m.mem, m.off + slot * this.slotSize, f.len);
        this.lens[slot] = f.len;
        this.count++;
        return true;
    }

    /** Points `front` at the oldest frame (count must be > 0). */
    peek(): Frame {
        const fr = this.front;
        fr.mem = this.buf!.mem;
        fr.off = this.buf!.off + this.head * this.slotSize;
        fr.len = this.lens[this.head];
        fr.hash = -1;
        return fr;
    }

    pop(): void {
        this.head = (this.head + 1) % this.capacity;
        this.count--;
    }

    clear(): void {
        this.head = 0;
        this.count = 0;
    }
}
