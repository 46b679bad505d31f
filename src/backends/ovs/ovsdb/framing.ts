/**
 * RFC 7047 sends JSON-RPC messages back to back on a stream with no
 * delimiter, so a reader must find where each top-level JSON value ends.
 * We scan bytes, not characters: every byte that matters ({ } [ ] " \) is
 * ASCII and can never occur inside a multi-byte UTF-8 sequence, so a chunk
 * boundary in the middle of a character is harmless and no decoder state
 * is needed until a value is complete.
 */

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Refuse to buffer a single message beyond this: a peer gone wrong must not eat memory. */
const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;

export class FramingError extends Error {}

export class JsonStreamSplitter {
    private chunks: Buffer[] = [];
    private buffered = 0;
    // Scanner state survives chunk boundaries.
    private depth = 0;
    private inString = false;
    private escaped = false;
    /** Offset inside the concatenated buffer where scanning resumes. */
    private scanned = 0;

    constructor(private readonly maxMessage = DEFAULT_MAX_MESSAGE) {}

    /** Feeds bytes; returns every value completed by them, in order. */
    push(chunk: Buffer): unknown[] {
        if (chunk.length === 0) return [];
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
        this.chunks = [buf];
        const out: unknown[] = [];
        let start = 0;
        let i = this.scanned;
        for (; i < buf.length; i++) {
            const b = buf[i];
            if (this.inString) {
                if (this.escaped) this.escaped = false;
                else if (b === BACKSLASH) this.escaped = true;
                else if (b === QUOTE) this.inString = false;
                continue;
            }
            if (b === QUOTE) {
                this.inString = true;
            } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
                if (this.depth === 0) start = this.skipWhitespace(buf, start, i);
                this.depth++;
            } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
                if (this.depth === 0) throw new FramingError(`unbalanced '${String.fromCharCode(b)}' in OVSDB stream`);
                this.depth--;
                if (this.depth === 0) {
                    out.push(parse(buf.subarray(start, i + 1)));
                    start = i + 1;
                }
            } else if (this.depth === 0 && !isWhitespace(b)) {
                // JSON-RPC messages are always objects; anything else means the stream is not OVSDB.
                throw new FramingError(`unexpected byte 0x${b.toString(16)} between OVSDB messages`);
            }
        }
        const rest = buf.subarray(start);
        this.chunks = rest.length > 0 ? [rest] : [];
        this.buffered = rest.length;
        this.scanned = rest.length;
        if (this.depth === 0 && !this.inString && rest.every(isWhitespace)) {
            this.chunks = [];
            this.buffered = 0;
            this.scanned = 0;
        }
        if (this.buffered > this.maxMessage) {
            throw new FramingError(`OVSDB message larger than ${this.maxMessage} bytes`);
        }
        return out;
    }

    /** Drops any partial message (after a reconnect the old stream is gone). */
    reset(): void {
        this.chunks = [];
        this.buffered = 0;
        this.depth = 0;
        this.inString = false;
        this.escaped = false;
        this.scanned = 0;
    }

    get pendingBytes(): number {
        return this.buffered;
    }

    private skipWhitespace(buf: Buffer, from: number, to: number): number {
        let s = from;
        while (s < to && isWhitespace(buf[s])) s++;
        return s;
    }
}

function isWhitespace(b: number): boolean {
    return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function parse(bytes: Buffer): unknown {
    const text = bytes.toString('utf8');
    try {
        return JSON.parse(text);
    } catch (e) {
        throw new FramingError(`malformed JSON from OVSDB: ${(e as Error).message}: ${text.slice(0, 200)}`);
    }
}
