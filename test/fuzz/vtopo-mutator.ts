/**
 * Grammar-aware mutation of .vtopo texts. The text is split into tokens
 * the way the grammar's terminals see it (keywords, names, sizes, MACs,
 * strings, braces, comments), then tokens are deleted, duplicated,
 * swapped and substituted with keywords or edge values, or the text is
 * truncated, nested deeply, unbalanced or sprinkled with odd unicode.
 * Mutants stay close enough to the grammar to reach the linker, the
 * checker and every editor feature, not just the lexer.
 */
import { Rng } from '../support/rng.js';

export type TokenKind = 'ws' | 'comment' | 'string' | 'mac' | 'cidr' | 'cores' | 'size' | 'int' | 'word' | 'brace' | 'other';

export interface Token { kind: TokenKind; text: string }

const TOKEN = new RegExp([
    String.raw`(?<ws>\s+)`,
    String.raw`(?<comment>\/\/[^\n\r]*|\/\*[\s\S]*?\*\/)`,
    String.raw`(?<string>"(?:\\.|[^"\\])*")`,
    String.raw`(?<mac>[0-9A-Za-z]+(?::[0-9A-Za-z]+)+)`,
    String.raw`(?<cidr>[0-9]+(?:\.[0-9]+){3}(?:\/[0-9]+)?)`,
    String.raw`(?<cores>(?:[0-9]+-[0-9]+|[0-9]+)(?:,(?:[0-9]+-[0-9]+|[0-9]+))+|[0-9]+-[0-9]+)`,
    String.raw`(?<size>[0-9]+(?:\.[0-9]+)?[KMGTkmgt](?:i?[Bb])?(?![\w]))`,
    String.raw`(?<int>[0-9]+(?![\w]))`,
    String.raw`(?<word>[_a-zA-Z][\w-]*)`,
    String.raw`(?<brace>[{}])`,
    String.raw`(?<other>[\s\S])`,
].join('|'), 'gu');

export function tokenize(text: string): Token[] {
    const out: Token[] = [];
    for (const m of text.matchAll(TOKEN)) {
        const kind = (Object.entries(m.groups ?? {}).find(([, v]) => v !== undefined)?.[0] ?? 'other') as TokenKind;
        out.push({ kind, text: m[0] });
    }
    return out;
}

/** Values that sit on or beyond the edges of what each terminal may carry. */
export const EDGE_VALUES: Readonly<Record<string, readonly string[]>> = {
    int: ['0', '1', '2', '15', '16', '128', '129', '255', '256', '65535', '65536', '4294967295', '4294967296',
        '9007199254740993', '99999999999999999999999999999999', '0000000000000001', '1'.repeat(400)],
    size: ['0M', '0K', '1K', '1.5G', '0.0001K', '16T', '999999999T', '2048G', '1GiB', '1Mb', '9007199254740993K', `${'9'.repeat(330)}G`],
    cores: ['0-0', '3-1', '0-4294967295', '0,0,0', '0-1,1-2', '99999-100000', '0-1,2-3,4-5,6-7,8-9,10-11', '0-1000000000'],
    mac: ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '52:54:00:zz:00:01', '52:54', 'a:b:c:d:e:f:g:h',
        '52:54:00:00:00:01:02', `${'ab:'.repeat(200)}ab`],
    cidr: ['0.0.0.0/0', '255.255.255.255/32', '10.0.0.1/33', '999.999.999.999/99', '10.0.0.0/24', '10.0.0.255/24',
        '127.0.0.1/8', '224.0.0.1/4', '10.0.0.1/4294967296', '1.2.3.4'],
    string: ['""', '"../../../../etc/shadow"', '"/dev/zero"', '"a\\"b"', '"\\\\"', '"eth1;rm -rf /"', '"$(reboot)"',
        '"0000:zz:00.0"', '"lo"', `"${'x'.repeat(5000)}"`, '"\u0000"', '"\u202e"'],
    word: ['x', 'a', 'br0', 'eth0', 'tap', 'ovs', 'default', 'client', 'on', 'l2', '_', '__proto__', 'constructor',
        'toString', 'hasOwnProperty', 'a'.repeat(16), 'b'.repeat(120), 'a'.repeat(3000)],
};

/** Characters that have broken editors before: surrogates, BOM, NUL, line and paragraph separators, RTL overrides, CR alone. */
const ODD_TEXT = ['\u0000', '\uFEFF', '\u2028', '\u2029', '\u202E', '\r', '\r\n', '\t', '\v', '\f', '\uD800', '\uDFFF',
    '\uD83D\uDE00', '\u0301', 'é', 'ﬁ', '\u200B', '\u00A0', '\u3000', '"', '/*', '*/', '//', '\\', ':', '-', ',', '.', '/'];

export interface MutatorVocabulary {
    /** Every keyword of the grammar (from the grammar itself, so new keywords are fuzzed too). */
    keywords: readonly string[];
    /** Other texts to splice fragments from. */
    corpus: readonly string[];
}

type Op = (tokens: Token[], rng: Rng, v: MutatorVocabulary) => Token[];

const significant = (t: Token[]) => t.map((x, i) => [x, i] as const).filter(([x]) => x.kind !== 'ws');

function at(tokens: Token[], rng: Rng): number {
    const sig = significant(tokens);
    return sig.length ? rng.pick(sig)[1] : 0;
}

function retype(text: string): Token {
    return tokenize(text)[0] ?? { kind: 'other', text };
}

const OPS: Record<string, Op> = {
    delete(t, rng) { t.splice(at(t, rng), 1); return t; },
    duplicate(t, rng) { const i = at(t, rng); t.splice(i, 0, { ...t[i] }, { kind: 'ws', text: ' ' }); return t; },
    swap(t, rng) {
        const i = at(t, rng); const j = at(t, rng);
        if (t[i] && t[j]) [t[i], t[j]] = [t[j], t[i]];
        return t;
    },
    keyword(t, rng, v) {
        const i = at(t, rng);
        if (t[i]) t[i] = { kind: 'word', text: rng.pick(v.keywords) };
        return t;
    },
    insertKeyword(t, rng, v) {
        t.splice(at(t, rng), 0, { kind: 'word', text: rng.pick(v.keywords) }, { kind: 'ws', text: ' ' });
        return t;
    },
    value(t, rng, v) {
        // Same-kind substitution keeps the text parseable and reaches the checker's value rules.
        const candidates = significant(t).filter(([x]) => x.kind in EDGE_VALUES && !(x.kind === 'word' && v.keywords.includes(x.text)));
        if (!candidates.length) return t;
        const [tok, i] = rng.pick(candidates);
        const kind = rng.chance(0.9) ? tok.kind : rng.pick(Object.keys(EDGE_VALUES));
        t[i] = retype(rng.pick(EDGE_VALUES[kind]));
        return t;
    },
    truncate(t, rng) {
        const text = t.map((x) => x.text).join('');
        return tokenize(text.slice(0, rng.int(text.length + 1)));
    },
    unicode(t, rng) {
        const text = t.map((x) => x.text).join('');
        const pos = rng.int(text.length + 1);
        const n = rng.range(1, 4);
        let ins = '';
        for (let k = 0; k < n; k++) ins += rng.chance(0.7) ? rng.pick(ODD_TEXT) : String.fromCodePoint(rng.int(0x110000));
        return tokenize(text.slice(0, pos) + ins + text.slice(pos));
    },
    braces(t, rng) {
        const i = at(t, rng);
        const b = rng.pick(['{', '}', '{ {', '} }', '{}']);
        if (rng.chance(0.5)) t.splice(i, 0, { kind: 'brace', text: b });
        else {
            const braces = significant(t).filter(([x]) => x.kind === 'brace');
            if (braces.length) t.splice(rng.pick(braces)[1], 1);
        }
        return t;
    },
    nest(t, rng) {
        // Deep nesting: the parser's error recovery and every recursive walk over the CST.
        const depth = rng.pick([20, 200, 2000]);
        const head = rng.pick(['{ ', 'vm v { ', 'port p { ', 'topology t { ', 'host { ']);
        const tail = rng.chance(0.5) ? ' }'.repeat(depth) : '';
        t.splice(at(t, rng), 0, { kind: 'other', text: head.repeat(depth) + tail });
        return t;
    },
    splice(t, rng, v) {
        if (!v.corpus.length) return t;
        const other = tokenize(rng.pick(v.corpus));
        const a = rng.int(other.length);
        const frag = other.slice(a, a + rng.range(1, 40));
        t.splice(at(t, rng), 0, ...frag);
        return t;
    },
    repeatBlock(t, rng) {
        // Many elements: quadratic rules (duplicate names, address overlap) must stay fast.
        const text = t.map((x) => x.text).join('');
        const m = /\n\s*(vm|bridge|nic) \w+[^]*?\n {2}\}/.exec(text);
        if (!m) return t;
        const n = rng.pick([10, 100, 400]);
        const copies = Array.from({ length: n }, (_, k) => m[0].replace(/^(\s*\w+) (\w+)/, `$1 $2_${rng.chance(0.8) ? k : 0}`)).join('');
        const pos = m.index + m[0].length;
        return tokenize(text.slice(0, pos) + copies + text.slice(pos));
    },
    rename(t, rng) {
        // A declared name changes in one place only: dangling references, duplicate names.
        const words = significant(t).filter(([x]) => x.kind === 'word');
        if (!words.length) return t;
        const [, i] = rng.pick(words);
        t[i] = { kind: 'word', text: rng.pick(EDGE_VALUES.word) };
        return t;
    },
};

export const MUTATION_OPS = Object.keys(OPS);

/**
 * Relative frequencies: small same-kind substitutions keep the text
 * parseable and reach the checker and the plan compiler; the structural
 * ops (nesting, repetition) are slow per case and need only be sampled.
 */
const WEIGHTS: Record<string, number> = {
    value: 6, rename: 3, swap: 2, delete: 2, duplicate: 2, keyword: 2, insertKeyword: 2,
    truncate: 1, unicode: 1, braces: 1, splice: 1, nest: 0.3, repeatBlock: 0.3,
};
const WEIGHTED = MUTATION_OPS.flatMap((op) => Array<string>(Math.round((WEIGHTS[op] ?? 1) * 10)).fill(op));

/** One mutant of `base`: 1..4 operations chosen by `rng`. Returns the text and the operations applied. */
export function mutate(base: string, rng: Rng, v: MutatorVocabulary): { text: string; ops: string[] } {
    let tokens = tokenize(base);
    const ops: string[] = [];
    // A third of the mutants only swap values: they stay parseable and exercise the checker and the plan compiler.
    const valuesOnly = rng.chance(0.35);
    const n = rng.chance(0.6) ? 1 : rng.range(2, 4);
    for (let k = 0; k < n; k++) {
        const name = valuesOnly ? 'value' : rng.pick(WEIGHTED);
        ops.push(name);
        tokens = OPS[name](tokens, rng, v);
    }
    return { text: tokens.map((x) => x.text).join(''), ops };
}
