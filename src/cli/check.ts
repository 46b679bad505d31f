/** `vtopo check FILE... [--json]`: parse and check topologies, exit 1 when any error. */
import { checkFiles, formatDiagnostic } from '../language/load.js';

const HELP = `usage: vtopo check FILE... [--json]

Parses and checks each topology file and prints one line per diagnostic:
  file:line:col severity code message
(severity: error, warning, info or hint; line and column start at 1).
--json prints an array of {file, line, column, severity, code, message} instead.
A file that cannot be read is reported as an error with code file-unreadable.
Exit status: 1 when any error was found (or no file was given), 0 otherwise.
`;

export default async function check(args: string[]): Promise<number> {
    const dashdash = args.indexOf('--');
    const opts = dashdash < 0 ? args : args.slice(0, dashdash);
    if (opts.includes('--help') || opts.includes('-h')) {
        process.stdout.write(HELP);
        return 0;
    }
    const json = opts.includes('--json');
    const unknown = opts.filter((a) => a.startsWith('-') && a !== '--json');
    if (unknown.length) {
        process.stderr.write(`vtopo check: unknown option ${unknown[0]}\n\n${HELP}`);
        return 1;
    }
    const files = [...opts.filter((a) => !a.startsWith('-')), ...(dashdash < 0 ? [] : args.slice(dashdash + 1))];
    if (files.length === 0) {
        process.stderr.write(`vtopo check: no file given\n\n${HELP}`);
        return 1;
    }
    const results = await checkFiles(files);
    const all = results.flatMap((r) => r.diagnostics);
    if (json) {
        const out = all.map(({ file, line, column, severity, code, message }) => ({ file, line, column, severity, code, message }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
        // Unreadable files are diagnostics too (code file-unreadable), so scripts parse one format.
        for (const d of all) process.stdout.write(formatDiagnostic(d) + '\n');
        const count = (...s: string[]) => all.filter((d) => s.includes(d.severity)).length;
        const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
        process.stderr.write(`${plural(files.length, 'file')}: ${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('info', 'hint'), 'note')}\n`);
    }
    return results.some((r) => r.hasErrors) ? 1 : 0;
}
