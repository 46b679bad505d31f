/** `vtopo check FILE... [--json]`: parse and check topologies, exit 1 when any error. */
import { checkFiles, formatDiagnostic } from '../language/load.js';

const HELP = `usage: vtopo check FILE... [--json]

Parses and checks each topology file and prints one line per diagnostic:
  file:line:col severity code message
--json prints an array of {file, line, column, severity, code, message}.
Exit status: 1 when any error was found, 0 otherwise.
`;

export default async function check(args: string[]): Promise<number> {
    const json = args.includes('--json');
    if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(HELP);
        return 0;
    }
    const unknown = args.filter((a) => a.startsWith('-') && a !== '--json');
    if (unknown.length) {
        process.stderr.write(`vtopo check: unknown option ${unknown[0]}\n${HELP}`);
        return 2;
    }
    const files = args.filter((a) => !a.startsWith('-'));
    if (files.length === 0) {
        process.stderr.write(`vtopo check: no file given\n${HELP}`);
        return 2;
    }
    const results = await checkFiles(files);
    const all = results.flatMap((r) => r.diagnostics);
    if (json) {
        const out = all.map(({ file, line, column, severity, code, message }) => ({ file, line, column, severity, code, message }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
        for (const d of all) {
            // Unreadable files are not diagnostics of the text: say so plainly on stderr.
            if (d.code === 'file-unreadable') process.stderr.write(`vtopo: ${d.message}\n`);
            else process.stdout.write(formatDiagnostic(d) + '\n');
        }
        const count = (s: string) => all.filter((d) => d.severity === s).length;
        const summary = `${files.length} file${files.length === 1 ? '' : 's'}: ${count('error')} error(s), ${count('warning')} warning(s), ${count('info') + count('hint')} note(s)`;
        process.stderr.write(summary + '\n');
    }
    return results.some((r) => r.hasErrors) ? 1 : 0;
}
