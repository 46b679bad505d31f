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
