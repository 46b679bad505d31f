/**
 * The default guest image from apt packages: built once per input hash,
 * rebuilt when an input changes, safe for concurrent callers. The .deb
 * download cache is shared with the project's cache so this downloads nothing
 * that an earlier build already fetched.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGuestImage, guestCacheRoot, guestImageHash } from '../../guest/image.js';

const debCacheDir = path.join(guestCacheRoot(), 'debs');

function initrdFiles(initrd: string): string[] {
    return execFileSync('sh', ['-c', 'gzip -dc "$1" | cpio -t --quiet', 'sh', initrd], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function initrdFile(initrd: string, name: string): string {
    return execFileSync('sh', ['-c', 'gzip -dc "$1" | cpio -i --to-stdout --quiet "$2"', 'sh', initrd, name], { encoding: 'utf8' });
}

describe('ensureGuestImage', () => {
    const cacheDir = mkdtempSync('/tmp/vtopo-gi-');
    const scriptsDir = path.join(cacheDir, 'rootfs');
    cpSync(path.join(__dirname, '..', '..', 'guest', 'rootfs'), scriptsDir, { recursive: true });
    afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

    let first: Awaited<ReturnType<typeof ensureGuestImage>>;

    it('builds kernel + initramfs from apt packages with the virtio modules in dependency order', async () => {
        const msgs: string[] = [];
        first = await ensureGuestImage({ cacheDir, debCacheDir, scriptsDir, onProgress: (m) => msgs.push(m) });
        expect(first.hash).toMatch(/^[0-9a-f]{16}$/);
        expect(readFileSync(first.kernel).subarray(0x202, 0x206).toString('latin1')).toBe('HdrS'); // bzImage header
        const files = initrdFiles(first.initrd);
        for (const f of ['init', 'bin/busybox', 'bin/vtopo-agent', 'lib/modules/virtio_net.ko', 'lib/modules/virtio_console.ko', 'etc/vtopo/modules.order']) {
            expect(files).toContain(f);
        }
        const order = initrdFile(first.initrd, 'etc/vtopo/modules.order').trim().split('\n');
        for (const [a, b] of [['virtio_ring', 'virtio'], ['virtio', 'virtio_pci'], ['failover', 'net_failover'], ['net_failover', 'virtio_net'], ['pvpanic', 'pvpanic_pci']]) {
            expect(order.indexOf(a), `${a} before ${b} in ${order}`).toBeGreaterThanOrEqual(0);
            expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
        }
        if (existsSync('/usr/bin/iperf3')) expect(files).toContain('usr/bin/iperf3');
        expect(msgs.some((m) => m.startsWith('building guest image'))).toBe(true);
        const manifest = JSON.parse(readFileSync(path.join(path.dirname(first.kernel), 'manifest.json'), 'utf8'));
        expect(manifest.inputs.kernel.name).toMatch(/^linux-image-\d/);
    }, 120_000);

    it('a second call is served from the cache without rebuilding', async () => {
        const msgs: string[] = [];
        const again = await ensureGuestImage({ cacheDir, debCacheDir, scriptsDir, onProgress: (m) => msgs.push(m) });
        expect(again).toEqual(first);
        expect(msgs).toEqual([]);
    });

    it('a changed guest script gives a new hash; concurrent callers build it once, over a stale lock', async () => {
        appendFileSync(path.join(scriptsDir, 'vtopo-agent'), '# changed\n');
        const hash = await guestImageHash({ scriptsDir });
        expect(hash).not.toBe(first.hash);
        // A builder that died holding the lock must not block the next ones.
        const lock = path.join(cacheDir, 'guest', `${hash}.lock`);
        const dead = execFileSync('sh', ['-c', 'sh -c "exit 0" & echo $!'], { encoding: 'utf8' }).trim();
        mkdirSync(lock, { recursive: true });
        writeFileSync(path.join(lock, 'owner'), dead);
        const logs: string[][] = [[], [], []];
        const results = await Promise.all(logs.map((l) => ensureGuestImage({ cacheDir, debCacheDir, scriptsDir, onProgress: (m) => l.push(m) })));
        expect(results.map((r) => r.hash)).toEqual([hash, hash, hash]);
        const builders = logs.filter((l) => l.some((m) => m.startsWith('building guest image')));
        expect(builders).toHaveLength(1);
        // The kernel was unpacked once for both images.
        expect(builders[0].some((m) => m.startsWith('unpacking'))).toBe(false);
        expect(initrdFile(results[0].initrd, 'bin/vtopo-agent')).toContain('# changed');
        // The old image stays usable for VMs still running from it; no temp dirs or locks remain.
        expect(existsSync(first.initrd)).toBe(true);
        expect(readdirSync(path.join(cacheDir, 'guest')).filter((n) => /\.(tmp|lock)/.test(n))).toEqual([]);
    }, 120_000);
});
