/**
 * Files as they are while being typed: every kept .vtopo file cut short
 * after each word, without each word, and with each word replaced by a
 * name, a string and numbers. Shared by the checker's typing test and the
 * reconcile model test (which uses the variants that still compile).
 */
import { readdirSync } from 'node:fs';

const inDir = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.vtopo')).map((f) => `${dir}/${f}`);

/** Every file we keep: the examples, the fixtures, and the invalid corpus (broken already, in other ways). */
export const KEPT_FILES = [...inDir('examples'), ...inDir('test/fixtures'), ...inDir('test/fixtures/invalid')];

const REPLACEMENTS = ['x', '"x"', '7', '0', '99999999999'];

/** [what, text, offset of the change] */
export function* variants(text: string): Generator<[string, string, number]> {
    const words = [...text.matchAll(/\S+/g)].map((m) => ({ at: m.index!, end: m.index! + m[0].length, word: m[0] }));
    for (const w of words) {
        yield [`cut after '${w.word}' at ${w.end}`, text.slice(0, w.end), w.end];
        yield [`without '${w.word}' at ${w.at}`, text.slice(0, w.at) + text.slice(w.end), w.at];
        for (const r of REPLACEMENTS) if (r !== w.word) yield [`'${w.word}' at ${w.at} as ${r}`, text.slice(0, w.at) + r + text.slice(w.end), w.at];
    }
}

/**
 * Edits a user makes on purpose, most of which still compile: each line
 * removed, each whole block (`vm x { … }`) removed, each number changed
 * (`256M` → `257M`, `512M`), hugepages switched to 1G pages.
 */
export function* edits(text: string): Generator<[string, string]> {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
        if (lines[i].trim()) yield [`line ${i + 1} removed`, [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n')];
    }
    for (const m of text.matchAll(/\b(?:vm|bridge|nic|port|host)\s+(?:\w+\s*)?\{/g)) {
        let depth = 0;
        for (let j = m.index! + m[0].length - 1; j < text.length; j++) {
            if (text[j] === '{') depth++;
            else if (text[j] === '}' && --depth === 0) {
                yield [`'${m[0]}' block removed`, text.slice(0, m.index!) + text.slice(j + 1)];
                break;
            }
        }
    }
    // (Guest RAM must be whole 1G pages then: the VMs grow to 1G, the host to fit.)
    if (/\bhugepages\s+\d/.test(text)) {
        yield ['hugepages as 1G pages', text.replace(/\bhugepages\s+[^\n/]*?\d+[MG]\b/, 'hugepages 4 x 1G').replace(/(\bvm\s+\w+\s*\{[^}]*?\bmemory\s+)\d+[MG]/g, '$11G').replace(/(\bhost\s*\{[^}]*?\bmemory\s+)\d+[MG]/, '$116G')];
    }
    for (const m of text.matchAll(/(?<![\w.:-])(\d+)([KMG]?)(?![\w.:/-])/g)) {
        const n = Number(m[1]);
        for (const v of [n + 1, 2 * n]) {
            yield [`${m[0]} at ${m.index} as ${v}${m[2]}`, text.slice(0, m.index!) + `${v}${m[2]}` + text.slice(m.index! + m[0].length)];
        }
    }
}
