/**
 * The TextMate grammar (syntaxes/vtopo.tmLanguage.json), checked with a
 * small line tokenizer that follows TextMate's rule (earliest match wins,
 * ties go to the first pattern). JavaScript and Oniguruma agree on the
 * regex features the grammar uses (lookarounds, classes, alternation).
 */
import { readFileSync } from 'node:fs';
import { AstUtils, GrammarAST } from 'langium';
import { describe, expect, it } from 'vitest';
import { lsp } from './helpers.js';

interface Rule { match?: string; begin?: string; end?: string; name?: string; include?: string; patterns?: Rule[]; captures?: Record<string, { name: string }> }
const grammar = JSON.parse(readFileSync('syntaxes/vtopo.tmLanguage.json', 'utf8')) as { scopeName: string; patterns: Rule[]; repository: Record<string, Rule> };

function flatten(rules: Rule[]): Rule[] {
    return rules.flatMap((r) => (r.include ? flatten(grammar.repository[r.include.slice(1)].patterns ?? [grammar.repository[r.include.slice(1)]]) : [r]));
}
const RULES = flatten(grammar.patterns);

/** [text, scope] for every scoped piece of one line (block comments and strings are closed on the same line here). */
function tokenize(line: string): [string, string][] {
    const out: [string, string][] = [];
    let pos = 0;
    while (pos < line.length) {
        let best: { index: number; m: RegExpExecArray; rule: Rule } | undefined;
        for (const rule of RULES) {
            const re = new RegExp(rule.match ?? `${rule.begin}[\\s\\S]*?(${rule.end}|$)`, 'gu');
            re.lastIndex = pos;
            const m = re.exec(line);
            if (m && (!best || m.index < best.index)) best = { index: m.index, m, rule };
        }
        if (!best || best.m[0].length === 0) break;
        const { m, rule } = best;
        if (rule.captures && rule.match) {
            for (const [i, c] of Object.entries(rule.captures)) {
                if (m[Number(i)] !== undefined) out.push([m[Number(i)], c.name.replace('$1', m[1])]);
            }
        } else if (rule.name) out.push([m[0], rule.name]);
        pos = m.index + m[0].length;
    }
    return out;
}

function scopeOf(line: string, text: string): string | undefined {
    return tokenize(line).find(([t]) => t === text)?.[1];
}

describe('TextMate grammar', () => {
    it('is the grammar package.json points at', () => {
        const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
        expect(pkg.contributes.grammars[0]).toMatchObject({ language: 'vtopo', scopeName: grammar.scopeName, path: './syntaxes/vtopo.tmLanguage.json' });
        for (const r of RULES) if (r.match) expect(() => new RegExp(r.match!, 'u')).not.toThrow();
    });

    it('scopes the parts of the normative example', () => {
        expect(scopeOf('topology lab {', 'topology')).toBe('storage.type.topology.vtopo');
        expect(scopeOf('topology lab {', 'lab')).toBe('entity.name.type.topology.vtopo');
        expect(scopeOf('    cores 0-1               // host CPUs vtopo may use', '0-1')).toBe('constant.numeric.cores.vtopo');
        expect(scopeOf('    cores 0-1               // host CPUs vtopo may use', '// host CPUs vtopo may use')).toBe('comment.line.double-slash.vtopo');
        expect(scopeOf('    poll-cores 1', 'poll-cores')).toBe('keyword.other.property.vtopo');
        expect(scopeOf('    hugepages 512M', '512M')).toBe('constant.numeric.size.vtopo');
        expect(scopeOf('    hugepages 4 x 1G', 'x')).toBe('keyword.operator.times.vtopo');
        expect(scopeOf('    rss ipv4-tcp ipv4-udp', 'ipv4-tcp')).toBe('constant.language.vtopo');
        expect(scopeOf('    driver af_packet "eth1"', '"eth1"')).toBe('string.quoted.double.vtopo');
        expect(scopeOf('    driver tap', 'tap')).toBe('constant.language.vtopo');
        expect(scopeOf('  bridge br1 { datapath embedded }', 'br1')).toBe('entity.name.type.bridge.vtopo');
        expect(scopeOf('  link br0 br1', 'br1')).toBe('variable.other.bridge.vtopo');
        expect(scopeOf('      mac 52:54:00:00:00:01 // optional', '52:54:00:00:00:01')).toBe('constant.other.mac.vtopo');
        expect(scopeOf('      ip 10.0.0.1/24', '10.0.0.1/24')).toBe('constant.other.cidr.vtopo');
        expect(scopeOf('    cpus 2', '2')).toBe('constant.numeric.integer.vtopo');
        expect(scopeOf('    port eth0 { bridge br0  ip 10.0.0.2/24 }', 'eth0')).toBe('entity.name.type.port.vtopo');
        expect(scopeOf('  /* a block */ vm web {', '/* a block */')).toBe('comment.block.vtopo');
    });

    it('gives every keyword of the Langium grammar a scope', () => {
        const keywords = [...new Set(AstUtils.streamAllContents(lsp.Vtopo.Grammar).filter(GrammarAST.isKeyword).map((k) => k.value).filter((v) => /\w/.test(v)))];
        const unscoped = keywords.filter((k) => !scopeOf(k === 'x' ? 'hugepages 4 x 1G' : `${k} 1`, k));
        expect(unscoped).toEqual([]);
    });
});
