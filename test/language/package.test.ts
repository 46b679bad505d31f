/**
 * `npm run package` builds out/vtopo.vsix offline (vsce 3.9.1), and the
 * archive holds what the installed extension loads and nothing of the
 * sources, tests or caches.
 */
import { readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { run } from '../support/run.js';

/** Names in a zip's central directory (no unzip tool needed). */
function zipEntries(file: string): string[] {
    const buf = readFileSync(file);
    const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${file} is not a zip archive`);
    const count = buf.readUInt16LE(eocd + 10);
    let at = buf.readUInt32LE(eocd + 16);
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
        if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry in ${file}`);
        const nameLen = buf.readUInt16LE(at + 28);
        const extraLen = buf.readUInt16LE(at + 30);
        const commentLen = buf.readUInt16LE(at + 32);
        names.push(buf.toString('utf8', at + 46, at + 46 + nameLen));
        at += 46 + nameLen + extraLen + commentLen;
    }
    return names;
}

/** Packages the bundles require() at run time, other than node built-ins and the editor's `vscode`. */
function externalRequires(bundle: string): string[] {
    const text = readFileSync(bundle, 'utf8');
    const builtins = new Set(builtinModules);
    const out = new Set<string>();
    for (const [, spec] of text.matchAll(/\brequire\("([^".][^"]*)"\)/g)) {
        const bare = spec.replace(/^node:/, '');
        if (spec.startsWith('node:') || builtins.has(bare) || builtins.has(bare.split('/')[0]) || spec === 'vscode') continue;
        out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
    return [...out];
}

describe('npm run package', () => {
    it('builds out/vtopo.vsix with the bundles, the grammar and the runtime dependencies, and nothing else', async () => {
        const started = Date.now();
        const r = await run('npm', ['run', 'package', '--silent'], { timeout: 90_000 });
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(statSync('out/vtopo.vsix').mtimeMs).toBeGreaterThanOrEqual(started - 1000);

        const entries = zipEntries('out/vtopo.vsix');
        const files = entries.filter((e) => e.startsWith('extension/')).map((e) => e.slice('extension/'.length));
        expect(files).toEqual(expect.arrayContaining([
            'package.json', 'readme.md', 'language-configuration.json', 'syntaxes/vtopo.tmLanguage.json',
            'out/extension.cjs', 'out/server.cjs', 'out/cli.cjs', 'node_modules/koffi/index.cjs',
            // the default guest image is built from these on the user's machine
            'guest/rootfs/init', 'guest/rootfs/vtopo-agent',
        ]));
        // koffi's native code for this platform comes from its optional per-platform package.
        expect(files.some((f) => /^node_modules\/@koromix\/koffi-linux-x64\/.*koffi\.node$/.test(f))).toBe(true);
        // Whatever the bundles load from node_modules is in the archive.
        for (const bundle of ['out/extension.cjs', 'out/server.cjs', 'out/cli.cjs']) {
            for (const pkg of externalRequires(bundle)) {
                expect(files, `${bundle} requires ${pkg}`).toContain(`node_modules/${pkg}/package.json`);
            }
        }
        // No sources, tests, caches, maps, or bundled-in dependencies.
        const stray = files.filter((f) => /^(src|test|server|scripts|bench|examples|\.cache|\.ci)\//.test(f) || /^guest\/(?!rootfs\/)/.test(f) || f.endsWith('.map') || (/\.ts$/.test(f) && !f.startsWith('node_modules/'))
            || (f.startsWith('node_modules/') && !/^node_modules\/(koffi|@koromix)\//.test(f)));
        expect(stray).toEqual([]);
        expect(statSync('out/vtopo.vsix').size).toBeLessThan(20 * 2 ** 20);
    }, 90_000);
});
