/**
 * The vhost-user socket: server mode (we listen, the frontend connects) or
 * client mode (the frontend — QEMU with server=on — listens and we connect,
 * retrying while it is absent and again whenever it goes away). Reads the
 * byte stream with its passed fds, frames messages and hands them to the
 * device; a protocol violation drops the connection, never the process.
 */
import { unlinkSync } from 'node:fs';
import { FdWatch, watchReadable } from '../sys/eventfd.js';
import { acceptUnix, closeFd, connectUnix, listenUnix, recvWithFds, sendAll } from '../sys/unix-socket.js';
import { HDR_LEN, MAX_PAYLOAD, type Message } from './messages.js';

export type ChannelState = 'waiting' | 'connecting' | 'connected' | 'disconnected';

export interface ChannelHandler {
    onMessage(m: Message): Uint8Array | undefined;
    onConnect(): void;
    onDisconnect(reason: string): void;
    log(msg: string): void;
}

export class VhostChannel {
    state: ChannelState = 'disconnected';
    connects = 0;
    private listenFd = -1;
    private listenWatch: FdWatch | undefined;
    private fd = -1;
    private watch: FdWatch | undefined;
    private buf = new Uint8Array(0);
    /**
     * Fds received, keyed by the stream position of the last byte of the
     * recvmsg that brought them: the kernel ends a read right after the
     * message carrying fds, so that byte belongs to the message they came with.
     */
    private fdq: { at: number; fds: number[] }[] = [];
    private streamPos = 0;
    private retry: NodeJS.Timeout | undefined;
    private closed = false;

    constructor(
        readonly path: string,
        readonly mode: 'client' | 'server',
        private readonly h: ChannelHandler,
        private readonly retryMs = 250,
    ) {}

    open(): void {
        if (this.mode === 'server') {
            try { unlinkSync(this.path); } catch { /* absent */ }
            this.listenFd = listenUnix(this.path);
            this.state = 'waiting';
            this.listenWatch = watchReadable(this.listenFd, () => this.accept());
        } else {
            this.state = 'connecting';
            this.tryConnect();
        }
    }

    private accept(): void {
        const fd = acceptUnix(this.listenFd);
        if (fd === undefined) return;
        if (this.fd >= 0) {
            // One frontend per port: a second connection is refused.
            this.h.log('refusing a second frontend connection');
            closeFd(fd);
            return;
        }
        this.attach(fd);
    }

    private tryConnect(): void {
        this.retry = undefined;
        if (this.closed) return;
        let fd: number;
        try {
            fd = connectUnix(this.path);
        } catch {
            this.retry = setTimeout(() => this.tryConnect(), this.retryMs);
            return;
        }
        this.attach(fd);
    }

    private attach(fd: number): void {
        this.fd = fd;
        this.buf = new Uint8Array(0);
        this.fdq = [];
        this.streamPos = 0;
        this.state = 'connected';
        this.connects++;
        this.h.onConnect();
        this.watch = watchReadable(fd, () => this.readable());
    }

    private readable(): void {
        for (;;) {
            if (this.fd < 0) return;
            let r;
            try {
                r = recvWithFds(this.fd);
            } catch (e) {
                this.drop(`recvmsg: ${(e as Error).message}`);
                return;
            }
            if (r.n === -1) return;
            if (r.n === 0) {
                for (const fd of r.fds) closeFd(fd);
                this.drop('frontend closed the connection');
                return;
            }
            if (r.truncated) {
                for (const fd of r.fds) closeFd(fd);
                this.drop('control data truncated (too many fds)');
                return;
            }
            if (r.fds.length) this.fdq.push({ at: this.streamPos + r.n - 1, fds: r.fds });
            this.streamPos += r.n;
            const nb = new Uint8Array(this.buf.length + r.n);
            nb.set(this.buf);
            nb.set(r.data, this.buf.length);
            this.buf = nb;
            if (!this.parse()) return;
        }
    }

    /** Frames and dispatches complete messages; false when the connection was dropped. */
    private parse(): boolean {
        let off = 0;
        const base = this.streamPos - this.buf.length;
        while (this.buf.length - off >= HDR_LEN) {
            const dv = new DataView(this.buf.buffer, this.buf.byteOffset + off);
            const request = dv.getUint32(0, true);
            const flags = dv.getUint32(4, true);
            const size = dv.getUint32(8, true);
            if (size > MAX_PAYLOAD || (flags & 0x3) !== 1) {
                this.drop(`bad message header (request ${request}, flags 0x${flags.toString(16)}, size ${size})`);
                return false;
            }
            if (this.buf.length - off < HDR_LEN + size) break;
            const start = base + off;
            const end = start + HDR_LEN + size;
            const fds: number[] = [];
            while (this.fdq.length && this.fdq[0].at < end) {
                const q = this.fdq.shift()!;
                if (q.at >= start) fds.push(...q.fds);
                else for (const fd of q.fds) closeFd(fd);
            }
            const payload = this.buf.slice(off + HDR_LEN, off + HDR_LEN + size);
            off += HDR_LEN + size;
            const reply = this.h.onMessage({ request, flags, payload, fds });
            if (this.fd < 0) return false;
            if (reply) {
                try {
                    sendAll(this.fd, reply);
                } catch (e) {
                    this.drop(`send: ${(e as Error).message}`);
                    return false;
                }
            }
        }
        this.buf = this.buf.slice(off);
        return true;
    }

    private drop(reason: string): void {
        this.watch?.close();
        this.watch = undefined;
        closeFd(this.fd);
        this.fd = -1;
        for (const q of this.fdq) for (const fd of q.fds) closeFd(fd);
        this.fdq = [];
        this.buf = new Uint8Array(0);
        this.h.onDisconnect(reason);
        if (this.closed) return;
        if (this.mode === 'server') this.state = 'waiting';
        else {
            this.state = 'connecting';
            this.retry = setTimeout(() => this.tryConnect(), this.retryMs);
        }
    }

    close(): void {
        this.closed = true;
        if (this.retry) clearTimeout(this.retry);
        if (this.fd >= 0) this.drop('port removed');
        this.listenWatch?.close();
        this.listenWatch = undefined;
        if (this.listenFd >= 0) {
            closeFd(this.listenFd);
            this.listenFd = -1;
            try { unlinkSync(this.path); } catch { /* gone */ }
        }
        this.state = 'disconnected';
    }
}
