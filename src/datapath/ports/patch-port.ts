/** One end of a patch link between two bridges: what it transmits enters the peer bridge. */
import { Port, type PortReport } from '../switch/port.js';
import type { Frame } from '../virtio/frame.js';

/** More hops than any sane chain of bridges: a loop of links. */
const MAX_HOPS = 8;

export class PatchPort extends Port {
    peer: PatchPort | undefined;

    transmit(f: Frame): void {
        const peer = this.peer;
        if (!peer || !peer.bridge) {
            this.drop('link-down');
            return;
        }
        // Checked before counting: a drop must not leave the count raised for the rest of the flood.
        if (f.hops >= MAX_HOPS) {
            this.drop('patch-loop');
            return;
        }
        f.hops++;
        this.tx_packets++;
        this.tx_bytes += f.len;
        peer.rx_packets++;
        peer.rx_bytes += f.len;
        const saved = f.hash;
        peer.bridge.input(peer, f);
        f.hash = saved;
        f.hops--;
    }

    report(): PortReport {
        return this.baseReport('patch', this.peer?.bridge ? 'up' : 'down', []);
    }

    close(): void {
        this.peer = undefined;
    }
}
