/**
 * A file being typed is mostly broken: cut short, a word missing, a word of
 * the wrong kind where the grammar wanted another. The parser recovers with
 * holes in the AST (a property it could not read is undefined), and every
 * check must cope: a check that throws loses its diagnostics and Langium
 * shows "An error occurred during validation" instead. Each example is
 * checked cut after every word, without each word, and with each word
 * replaced by a name, a string and a number; an error-free result must
 * also compile to a plan (or be refused with a message, not a crash).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { VtopoError } from '../../src/runtime/api.js';

const inDir = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.vtopo')).map((f) => `${dir}/${f}`);
/** Every file we keep: the examples, the fixtures, and the invalid corpus (broken already, in other ways). */
const FILES = [...inDir('examples'), ...inDir('test/fixtures'), ...inDir('test/fixtures/invalid')];
const REPLACEMENTS = ['x', '"x"', '7'];

function* variants(text: string): Generator<[string, string]> {
    const words = [...text.matchAll(/\S+/g)].map((m) => ({ at: m.index!, end: m.index! + m[0].length, word: m[0] }));
    for (const w of words) {
        yield [`cut after '${w.word}' at ${w.end}`, text.slice(0, w.end)];
        yield [`without '${w.word}' at ${w.at}`, text.slice(0, w.at) + text.slice(w.end)];
        for (const r of REPLACEMENTS) if (r !== w.word) yield [`'${w.word}' at ${w.at} as ${r}`, text.slice(0, w.at) + r + text.slice(w.end)];
    }
}

describe('checking a file as it is typed', () => {
    for (const file of FILES) {
        it(`never throws on a broken ${file}`, async () => {
            const text = readFileSync(file, 'utf8');
            const clean = !(await checkText(text, 'typing.vtopo')).hasErrors;
            const failures: string[] = [];
            let checked = 0;
            let compiled = 0;
            for (const [what, variant] of variants(text)) {
                checked++;
                const r = await checkText(variant, 'typing.vtopo');
                const thrown = r.diagnostics.filter((d) => d.message.startsWith('An error occurred'));
                if (thrown.length) failures.push(`${what}: ${thrown[0].message}`);
                if (r.hasErrors || !r.model) continue;
                try {
                    compilePlan(topologyOf(r.model, '/src/typing.vtopo'), { runRoot: '/run/vtopo', kvmUsable: false, sourceFile: '/src/typing.vtopo', onlineCpus: [0, 1, 2, 3] });
                    compiled++;
                } catch (e) {
                    // A file cut before its topology is refused on purpose, with the fix.
                    if (e instanceof VtopoError && e.code === 'no-topology') continue;
                    failures.push(`${what}: compile threw ${(e as Error).message}`);
                }
            }
            expect(failures.slice(0, 10)).toEqual([]);
            // The mutations reach both sides: broken files, and valid ones the compiler takes.
            expect(checked).toBeGreaterThanOrEqual(4 * text.split(/\s+/).filter(Boolean).length);
            if (clean) expect(compiled).toBeGreaterThan(10);
        }, 120_000);
    }
});
