/** The guest image hash, with apt faked: fast, and the same on hosts without apt lists. */
import { describe, expect, it, vi } from 'vitest';
import { guestImageHash } from '../../guest/image.js';
import { ROOT_MODULES } from '../../guest/modules.js';

vi.mock('node:child_process', async (orig) => {
    const real = await orig<typeof import('node:child_process')>();
    const out = (cmd: string, args: string[]): string => {
        if (cmd === 'ldd') return '';
        if (cmd !== 'apt-cache') throw new Error(`unexpected ${cmd} ${args.join(' ')}`);
        const name = args.at(-1);
        if (name === 'linux-image-amd64') return 'Package: linux-image-amd64\nDepends: linux-image-6.1.0-99-amd64 (= 6.1.0-99)\n';
        return `Package: ${name}\nVersion: 1.0\nSHA256: ${'0'.repeat(64)}\nFilename: pool/main/${name}_1.0_amd64.deb\n`;
    };
    return {
        ...real,
        execFile: (cmd: string, args: string[], _opts: unknown, cb: (e: Error | null, r?: { stdout: string; stderr: string }) => void) => {
            try {
                cb(null, { stdout: out(cmd, args), stderr: '' });
            } catch (e) {
                cb(e as Error);
            }
        },
    };
});

describe('guestImageHash', () => {
    it('changes with the root module list, so a new module rebuilds the image', async () => {
        const before = await guestImageHash();
        expect(await guestImageHash()).toBe(before);
        ROOT_MODULES.push('virtio_blk');
        try {
            expect(await guestImageHash()).not.toBe(before);
        } finally {
            ROOT_MODULES.pop();
        }
        expect(await guestImageHash()).toBe(before);
    });
});
