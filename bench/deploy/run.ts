/**
 * Deploy-to-verify time of examples/two-vms.vtopo against a bare QEMU boot
 * of the same default guest (no ports, no datapath), and destroy time.
 * Not a test: prints medians. Run as root:
 *   flock /tmp/vtopo-heavy.lock npx tsx bench/deploy/run.ts [rounds]
 * Figures and history: bench/RESULTS.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensureGuestImage } from '../../src/backends/qemu/index.js';
import { onInterrupt } from '../interrupt.js';
import { median, secs, timed } from '../timing.js';

const rounds = Number(process.argv[2] ?? 3);
const root = mkdtempSync('/tmp/vtbd-');
process.env.VTOPO_RUN_ROOT = path.join(root, 'run');
const { runtime } = await import('../../src/runtime/index.js');


await ensureGuestImage();
const bare = path.join(root, 'bare.vtopo');
writeFileSync(bare, 'topology bare { vm solo { cpus 1  memory 256M } }\n');
const two = path.resolve('examples/two-vms.vtopo');

const r = { bare: [] as number[], deploy: [] as number[], verify: [] as number[], destroy: [] as number[] };
const cleanup = async () => {
    await runtime.destroy(bare).catch(() => undefined);
    await runtime.destroy(two).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
};
const registered = onInterrupt(cleanup);
try {
    for (let i = 0; i < rounds; i++) {
        const [tb] = await timed(() => runtime.deploy(bare));
        r.bare.push(tb);
        await runtime.destroy(bare);
        const [td] = await timed(() => runtime.deploy(two));
        const [tv, v] = await timed(() => runtime.verify(two));
        if (!v.pairs.every((p) => p.ok)) throw new Error(`verify failed: ${JSON.stringify(v.pairs)}`);
        const [tx] = await timed(() => runtime.destroy(two));
        r.deploy.push(td);
        r.verify.push(tv);
        r.destroy.push(tx);
        console.log(`round ${i + 1}: bare boot ${secs(tb)} s, deploy ${secs(td)} s, verify ${secs(tv)} s, destroy ${secs(tx)} s`);
    }
    console.log(`medians of ${rounds}: bare QEMU boot to agent-ready ${secs(median(r.bare))} s; ` +
        `two-vms deploy ${secs(median(r.deploy))} s + verify ${secs(median(r.verify))} s = ${secs(median(r.deploy) + median(r.verify))} s; ` +
        `destroy ${secs(median(r.destroy))} s`);
} finally {
    registered();
    await cleanup();
}
