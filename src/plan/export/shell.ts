/** POSIX shell quoting for exported scripts. */
const SAFE = /^[A-Za-z0-9_\-.,:=/@%+]+$/;

/** One argv word as shell text; `$VTOPO_*` placeholders stay expandable. */
export function shq(word: string): string {
    if (/^\$VTOPO_[A-Z_]+$/.test(word)) return `"${word}"`;
    if (word !== '' && SAFE.test(word)) return word;
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv → one command, an option and its value per line, continued with backslashes. */
export function formatCommand(argv: string[]): string {
    const lines: string[] = [shq(argv[0])];
    for (let i = 1; i < argv.length; i++) {
        const w = argv[i];
        const next = argv[i + 1];
        if (w.startsWith('-') && next !== undefined && !next.startsWith('-')) {
            lines.push(`${shq(w)} ${shq(next)}`);
            i++;
        } else {
            lines.push(shq(w));
        }
    }
    return lines.join(' \\\n    ');
}

/**
 * A string value for ovs-vsctl / ovn-nbctl `set TABLE ROW column:key=VALUE`:
 * bare when it cannot be misread, else an OVSDB quoted string (JSON escapes),
 * so the database holds exactly `value`.
 */
export function ovsdbString(value: string): string {
    return /^[A-Za-z0-9_.\-/:@+,=]+$/.test(value) ? value : JSON.stringify(value);
}

/** `column:key=value` words for a map column. */
export function mapWords(column: string, kv: Record<string, string>): string[] {
    const key = (k: string) => (/^[A-Za-z0-9_.-]+$/.test(k) ? k : JSON.stringify(k));
    return Object.entries(kv).map(([k, v]) => `${column}:${key(k)}=${ovsdbString(v)}`);
}

/** A name inside a `#` comment: a newline would end the comment and run the rest. */
export function oneLine(s: string): string {
    return s.replace(/[\r\n]/g, '?');
}
