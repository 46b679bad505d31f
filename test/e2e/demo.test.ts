/**
 * The README's first command, as a user runs it: `bash scripts/demo.sh
 * --destroy` (setup is already done here, so it only rebuilds), with a
 * private VTOPO_RUN_ROOT. It must deploy the two-VM example, show both
 * pairs reaching and the status, then leave nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leftovers } from '../runtime/leaks.js';
import { run } from '../support/run.js';

const runRoot = path.join(mkdtempSync('/tmp/vtdemo-'), 'run');
afterAll(() => rmSync(path.dirname(runRoot), { recursive: true, force: true }));

describe('scripts/demo.sh (the README main command)', () => {
    it('deploys the two-VM example, verifies, prints status and tears down with --destroy', async () => {
        const r = await run('bash', ['scripts/demo.sh', '--destroy'], {
            env: { ...process.env, VTOPO_RUN_ROOT: runRoot }, timeout: 280_000,
        });
        const out = r.stdout + r.stderr;
        expect(r.status, out.slice(-3000)).toBe(0);
        expect(out).toMatch(/deploy: applied \d+ action/);
        expect(out).toMatch(/a → b \(10\.0\.0\.2\): ok/);
        expect(out).toMatch(/b → a \(10\.0\.0\.1\): ok/);
        expect(out).toMatch(/destroy: nothing of this topology is left running/);
        expect(leftovers(path.join(runRoot, 'two_vms'))).toEqual([]);
    }, 300_000);
});
