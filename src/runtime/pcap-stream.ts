/**
 * Cuts a pcap byte stream (as a datapath writes it) at record boundaries,
 * so a capture can stop after exactly COUNT frames and what it hands on is
 * always a valid pcap prefix: the global header, then whole records.
 */
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

export class PcapSplitter {
    private pending: Buffer = Buffer.alloc(0);
    private little = true;
    headerSeen = false;
    records = 0;

    constructor(private readonly limit?: number) {}

    get full(): boolean {
        return this.limit !== undefined && this.records >= this.limit;
    }

    /** Takes the next bytes; returns what may be passed on now (possibly nothing). */
    push(chunk: Buffer): Buffer {
        if (this.full) return Buffer.alloc(0);
        this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
        const out: Buffer[] = [];
        let at = 0;
        if (!this.headerSeen) {
            if (this.pending.length < GLOBAL_HEADER) return Buffer.alloc(0);
            const magic = this.pending.readUInt32LE(0);
            if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.little = true;
            else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.little = false;
            else throw new Error(`not a pcap stream (magic 0x${magic.toString(16)})`);
            out.push(this.pending.subarray(0, GLOBAL_HEADER));
            at = GLOBAL_HEADER;
            this.headerSeen = true;
        }
        while (!this.full && this.pending.length - at >= RECORD_HEADER) {
            const incl = this.little ? this.pending.readUInt32LE(at + 8) : this.pending.readUInt32BE(at + 8);
            if (this.pending.length - at < RECORD_HEADER + incl) break;
            out.push(this.pending.subarray(at, at + RECORD_HEADER + incl));
            at += RECORD_HEADER + incl;
            this.records++;
        }
        this.pending = Buffer.from(this.pending.subarray(at));
        return Buffer.concat(out);
    }

    /** A pcap with no frames (a capture that saw none still writes a readable file). */
    emptyHeader(): Buffer {
        const h = Buffer.alloc(GLOBAL_HEADER);
        h.writeUInt32LE(0xa1b2c3d4, 0);
        h.writeUInt16LE(2, 4);
        h.writeUInt16LE(4, 6);
        h.writeUInt32LE(65535, 16);
        h.writeUInt32LE(1, 20);
        return h;
    }
}
