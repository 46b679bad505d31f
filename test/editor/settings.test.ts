/**
 * The vtopo.* settings: package.json contributes exactly the table in
 * src/core/settings.ts (plus the editor-only cliPath), the editor turns them
 * into the environment the CLI reads, and the CLI given that environment does
 * what the setting says (run directory, default OvS database).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS, settingsEnv, statusIntervalMs } from '../../src/core/settings.js';
import { runVtopo } from '../runtime/cli-run.js';

const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
const props: Record<string, { type: string; default: unknown; markdownDescription: string }> = pkg.contributes.configuration.properties;
const EDITOR_ONLY = ['cliPath'];

const dir = mkdtempSync('/tmp/vtopo-settings-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vtopo settings', () => {
    it('package.json contributes each setting of the table with its type, default and environment variable, and nothing else', () => {
        expect(Object.keys(props).sort()).toEqual([...SETTINGS.map((s) => `vtopo.${s.key}`), ...EDITOR_ONLY.map((k) => `vtopo.${k}`)].sort());
        for (const s of SETTINGS) {
            const p = props[`vtopo.${s.key}`];
            expect(p.type, s.key).toBe(s.type);
            expect(p.default, s.key).toBe(s.default);
            expect(p.markdownDescription, s.key).toContain(s.env);
        }
    });

    it('the editor passes only the settings given a value, as their environment variables', () => {
        const values: Record<string, unknown> = { runtimeDirectory: '/srv/vtopo', ovsdb: '', qemuPath: undefined, statusInterval: 5 };
        expect(settingsEnv((k) => values[k])).toEqual({ VTOPO_RUN_ROOT: '/srv/vtopo', VTOPO_STATUS_INTERVAL: '5' });
    });

    it('the status interval is read in seconds, and out-of-range text falls back', () => {
        expect(statusIntervalMs('0.5', 2000)).toBe(500);
        expect(statusIntervalMs(undefined, 2000)).toBe(2000);
        expect(statusIntervalMs('0.01', 2000)).toBe(2000);
        expect(statusIntervalMs('soon', 2000)).toBe(2000);
    });

    it('the CLI given the editor environment plans under the run directory and onto the default OvS database; --ovsdb and the file still win', async () => {
        const file = path.join(dir, 'probe.vtopo');
        writeFileSync(file, 'topology settings_probe {\n  bridge br0 { datapath ovs }\n  vm a { cpus 1  memory 256M  port eth0 { bridge br0  ip 10.0.0.1/24 } }\n}\n');
        const runRoot = path.join(dir, 'rr');
        const env = settingsEnv((k) => ({ runtimeDirectory: runRoot, ovsdb: 'unix:/tmp/vtopo-settings-none/db.sock' } as Record<string, string>)[k]);
        // runVtopo sets a VTOPO_RUN_ROOT of its own; the editor's value must be the one the CLI sees.
        const r = await runVtopo(path.join(dir, 'other'), ['plan', file], env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`(${path.join(runRoot, 'settings_probe')})`);
        expect(r.stdout).toContain('existing OvS at /tmp/vtopo-settings-none/db.sock');
        const over = await runVtopo(runRoot, ['plan', file, '--ovsdb', 'unix:/tmp/vtopo-settings-cli/db.sock'], env);
        expect(over.stdout).toContain('existing OvS at /tmp/vtopo-settings-cli/db.sock');
        const plain = await runVtopo(runRoot, ['plan', file]);
        expect(plain.stdout).not.toContain('existing OvS');
        const bad = await runVtopo(runRoot, ['plan', file], { VTOPO_OVSDB: 'tcp:127.0.0.1:6640' });
        expect(bad.code).not.toBe(0);
        expect(bad.stderr).toContain('vtopo.ovsdb setting');
        expect(existsSync(path.join(runRoot, 'settings_probe', 'state'))).toBe(false);
    }, 60_000);
});
