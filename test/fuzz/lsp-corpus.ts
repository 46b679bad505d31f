/** Seed texts for the language fuzzer: the examples and the test fixtures of the repository. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const SEED_DIRS = ['examples', 'test/fixtures', 'test/plan/fixtures'];

export function loadSeedCorpus(root = process.cwd()): { file: string; text: string }[] {
    const out: { file: string; text: string }[] = [];
    const walk = (dir: string) => {
        let names: string[];
        try { names = readdirSync(dir).sort(); } catch { return; }
        for (const n of names) {
            const p = path.join(dir, n);
            if (statSync(p).isDirectory()) walk(p);
            else if (n.endsWith('.vtopo')) out.push({ file: path.relative(root, p), text: readFileSync(p, 'utf8') });
        }
    };
    for (const d of SEED_DIRS) walk(path.join(root, d));
    if (out.length === 0) throw new Error(`no .vtopo seed files under ${SEED_DIRS.join(', ')} in ${root}`);
    return out;
}
