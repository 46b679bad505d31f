/**
 * Parser and lexer messages (Chevrotain's) rewritten for people: token
 * types become examples of what to write, multi-line alternatives become one
 * line (`vtopo check` prints one line per diagnostic), and common slips get
 * the fix.
 */
const TOKEN: Record<string, string> = {
    INT: 'a whole number such as 2',
    SIZE: 'a size with a K, M or G suffix such as 256M',
    CIDR: 'an IPv4 address with prefix such as 10.0.0.1/24',
    MAC: 'a MAC address such as 52:54:00:00:00:01',
    STRING: 'a quoted string such as "eth1"',
    ID: 'a name',
    CORE_RANGES: 'a core list such as 0-3 or 0,2',
    EOF: 'the end of the file',
};

const describeToken = (t: string) => TOKEN[t] ?? `\`${t}\``;

function hint(expected: string[], found: string): string {
    if (expected.includes('SIZE') && /^[0-9]+$/.test(found)) return ` Sizes need a unit: write ${found}M or ${found}G.`;
    if (expected.includes('MAC') && /^[0-9a-fA-F]{1,2}-/.test(found)) return ' Separate MAC octets with \':\', e.g. 52:54:00:00:00:01.';
    if (expected.includes('STRING') && /^[\w.:-]+$/.test(found)) return ` Quote it: "${found}".`;
    if (expected.length === 1 && expected[0] === '}' && found === '') return ' A block is not closed: add the missing `}`.';
    if (expected.length === 1 && (expected[0] === '}' || expected[0] === 'EOF') && found === '}') return ' There is one `}` too many, or a line above it did not parse.';
    return '';
}

export function friendlySyntaxMessage(message: string): string {
    let m = /^Expecting token of type '([^']+)' but found `([^`]*)`\.?$/s.exec(message);
    if (m) return `Expected ${describeToken(m[1])} but found ${m[2] ? `\`${m[2]}\`` : 'the end of the file'}.${hint([m[1]], m[2])}`;
    m = /^Expecting end of file but found `([^`]*)`\.?$/s.exec(message);
    if (m) return `Expected the end of the file but found \`${m[1]}\`.${hint(['EOF'], m[1])}`;
    m = /^Expecting: one of these possible Token sequences:\s*([\s\S]*?)\s*but found: '([^']*)'\s*$/.exec(message);
    if (m) {
        const options = [...m[1].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1].replace(/,\s*/g, ' '));
        const shown = options.map((o) => TOKEN[o] ?? o);
        return `Expected one of: ${shown.join(', ')}; found \`${m[2]}\`.${hint(options, m[2])}`;
    }
    m = /^unexpected character: ->(.)<- at offset: \d+, skipped (\d+) characters?\.?$/s.exec(message);
    if (m) return `Unexpected character \`${m[1]}\`: it starts no vtopo word, number or literal; remove it or check the line's spelling.`;
    return message.replace(/\s*\n\s*/g, ' ');
}
