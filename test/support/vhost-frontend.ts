/**
 * One vhost-user frontend connection, the way QEMU drives a backend but
 * willing to send anything: raw bytes, any header, any fds. Non-blocking
 * throughout; replies are framed so that a request can wait for its own.
 */
import { sendWithFds } from './frontend.js';
import { watchReadable, type FdWatch } from '../../src/datapath/sys/eventfd.js';
import { closeFd, connectUnix, recvWithFds } from '../../src/datapath/sys/unix-socket.js';
import { FLAG_NEED_REPLY, FLAG_VERSION, HDR_LEN, message, Req } from './vhost-wire.js';
import { sleep } from './wait.js';

export interface Reply { request: number; flags: number; payload: Uint8Array }

export class Frontend {
    fd = -1;
    /** The backend closed or reset the connection. */
    dropped = false;
    private rx = new Uint8Array(0);
    readonly replies: Reply[] = [];

    constructor(readonly socket: string) {}

    connect(): void {
        this.close();
        this.fd = connectUnix(this.socket);
        this.dropped = false;
        this.rx = new Uint8Array(0);
        this.replies.length = 0;
    }

    get open(): boolean {
        return this.fd >= 0 && !this.dropped;
    }

    /**
     * Sends bytes with fds on the first byte. Waits while the socket buffer
     * is full (reading replies meanwhile); false when the backend dropped us.
     */
    async send(bytes: Uint8Array, fds: readonly number[] = []): Promise<boolean> {
        let off = 0;
        let first = true;
        let waits = 0;
        while (off < bytes.length && this.open) {
            let n: number;
            try {
                n = sendWithFds(this.fd, off === 0 ? bytes : bytes.subarray(off), first ? fds : []);
            } catch {
                this.dropped = true;
                return false;
            }
            if (n < 0) {
                this.pump();
                if (++waits > 5000) throw new Error(`backend at ${this.socket} stopped reading (socket buffer full for 5 s)`);
                await sleep(1);
                continue;
            }
            first = false;
            off += n;
        }
        return this.open;
    }

    /** Reads whatever the backend sent; frames complete replies. */
    pump(): void {
        while (this.fd >= 0 && !this.dropped) {
            let r;
            try {
                r = recvWithFds(this.fd);
            } catch {
                this.dropped = true;
                return;
            }
            for (const fd of r.fds) closeFd(fd);
            if (r.n === -1) break;
            if (r.n === 0) {
                this.dropped = true;
                break;
            }
            const nb = new Uint8Array(this.rx.length + r.n);
            nb.set(this.rx);
            nb.set(r.data, this.rx.length);
            this.rx = nb;
        }
        let off = 0;
        while (this.rx.length - off >= HDR_LEN) {
            const dv = new DataView(this.rx.buffer, this.rx.byteOffset + off);
            const size = dv.getUint32(8, true);
            if (size > 4096) throw new Error(`backend sent a reply with size ${size}: broken reply framing`);
            if (this.rx.length - off < HDR_LEN + size) break;
            this.replies.push({ request: dv.getUint32(0, true), flags: dv.getUint32(4, true), payload: this.rx.slice(off + HDR_LEN, off + HDR_LEN + size) });
            off += HDR_LEN + size;
        }
        this.rx = this.rx.slice(off);
        if (this.replies.length > 1024) this.replies.splice(0, this.replies.length - 1024);
    }

    /** Waits for the next reply to `request`; undefined when dropped or after `timeoutMs`. */
    async reply(request: number, timeoutMs = 5000): Promise<Reply | undefined> {
        const end = Date.now() + timeoutMs;
        for (;;) {
            this.pump();
            const i = this.replies.findIndex((r) => r.request === request);
            if (i >= 0) return this.replies.splice(i, 1)[0];
            if (!this.open || Date.now() > end) return undefined;
            await this.readable(end - Date.now());
        }
    }

    /** Resolves when the socket has data (or after `ms`): waiting in the loop, not spinning, leaves the CPU to the switch. */
    private readable(ms: number): Promise<void> {
        return new Promise((resolve) => {
            let w: FdWatch | undefined;
            const t = setTimeout(() => { w?.close(); resolve(); }, Math.max(1, ms));
            w = watchReadable(this.fd, () => { clearTimeout(t); w?.close(); resolve(); });
        });
    }

    /** Sends a request and waits for its reply. */
    async call(request: number, payload?: Uint8Array, fds: readonly number[] = [], flags = FLAG_VERSION): Promise<Reply | undefined> {
        this.pump();
        this.replies.length = 0;
        if (!(await this.send(message(request, payload, flags), fds))) return undefined;
        return this.reply(request);
    }

    /** Sends with NEED_REPLY and returns the REPLY_ACK status (0 = ok), or undefined. */
    async acked(request: number, payload?: Uint8Array, fds: readonly number[] = []): Promise<bigint | undefined> {
        const r = await this.call(request, payload, fds, FLAG_VERSION | FLAG_NEED_REPLY);
        return r && r.payload.length >= 8 ? new DataView(r.payload.buffer, r.payload.byteOffset).getBigUint64(0, true) : undefined;
    }

    /**
     * A round trip after everything sent so far: the backend handles one
     * connection's messages in order, so when GET_FEATURES is answered all
     * earlier messages were processed. False when the connection is gone.
     */
    async barrier(timeoutMs = 5000): Promise<boolean> {
        if (!this.open) return false;
        this.pump();
        this.replies.length = 0;
        if (!(await this.send(message(Req.GET_FEATURES)))) return false;
        if ((await this.reply(Req.GET_FEATURES, 250)) !== undefined) return true;
        if (!this.open) return false;
        // A header that announced more payload than was sent swallowed the
        // request: complete it with padding (then a zero header, which the
        // backend must refuse by dropping the connection) and ask again.
        if (!(await this.send(new Uint8Array(4096 + 12)))) return false;
        return (await this.reply(Req.GET_FEATURES, timeoutMs)) !== undefined;
    }

    close(): void {
        if (this.fd >= 0) closeFd(this.fd);
        this.fd = -1;
    }
}
