/** A pcap file mirroring a port's frames (both directions), buffered, flushed off the hot path. */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Frame } from '../virtio/frame.js';

const SNAP = 65535;

/** What a port mirrors its frames into. */
export interface PcapSink {
    write(f: Frame): void;
    /** The files written (comma separated when several captures run). */
    readonly file: string;
}

/** Several captures of one port at once (the editor's and a `vtopo capture`, say). */
export class PcapTee implements PcapSink {
    constructor(readonly writers: PcapWriter[]) {}
    get file(): string { return this.writers.map((w) => w.file).join(','); }
    write(f: Frame): void {
        for (const w of this.writers) w.write(f);
    }
}

export class PcapWriter {
    private fd: number;
    private buf = Buffer.alloc(1 << 20);
    private at = 0;
    private timer: NodeJS.Timeout;
    frames = 0;

    constructor(readonly file: string) {
        this.fd = openSync(file, 'w', 0o600);
        const h = Buffer.alloc(24);
        h.writeUInt32LE(0xa1b2c3d4, 0);
        h.writeUInt16LE(2, 4);
        h.writeUInt16LE(4, 6);
        h.writeUInt32LE(SNAP, 16);
        h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
        writeSync(this.fd, h);
        this.timer = setInterval(() => this.flush(), 200);
        this.timer.unref();
    }

    write(f: Frame): void {
        const len = Math.min(f.len, SNAP);
        if (this.at + 16 + len > this.buf.length) this.flush();
        const t = Date.now();
        this.buf.writeUInt32LE(Math.floor(t / 1000), this.at);
        this.buf.writeUInt32LE((t % 1000) * 1000, this.at + 4);
        this.buf.writeUInt32LE(len, this.at + 8);
        this.buf.writeUInt32LE(f.len, this.at + 12);
        this.buf.set(f.mem.u8.subarray(f.off, f.off + len), this.at + 16);
        this.at += 16 + len;
        this.frames++;
    }

    flush(): void {
        if (this.at > 0 && this.fd >= 0) writeSync(this.fd, this.buf, 0, this.at);
        this.at = 0;
    }

    close(): void {
        clearInterval(this.timer);
        this.flush();
        if (this.fd >= 0) closeSync(this.fd);
        this.fd = -1;
    }
}
