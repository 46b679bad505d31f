/** `vtopo export FILE --format FORMAT [--vm NAME] [--host NAME]`: the plan in other tools' terms. */
import { EXPORT_FORMATS, EXPORT_TABLE, type ExportFormat } from '../plan/export/index.js';
import { reportError } from '../runtime/format.js';
import { exportTopology } from '../runtime/index.js';
import { HOST_USAGE, takeHost } from './options.js';

const USAGE = `usage: vtopo export FILE --format ${EXPORT_FORMATS.join('|')} [--vm NAME] [${HOST_USAGE}]
${EXPORT_FORMATS.map((f) => `  ${f.padEnd(10)} ${EXPORT_TABLE[f].describe}`).join('\n')}
`;

export default async function exportCommand(argv: string[]): Promise<number> {
    const { rest: args, host, error } = takeHost(argv);
    if (error) {
        process.stderr.write(`vtopo export: ${error}\n${USAGE}`);
        return 2;
    }
    let format: string | undefined;
    let vm: string | undefined;
    const files: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === '--format') format = args[++i];
        else if (a.startsWith('--format=')) format = a.slice(9);
        else if (a === '--vm') vm = args[++i];
        else if (a.startsWith('--vm=')) vm = a.slice(5);
        else if (a === '--help' || a === '-h') { process.stdout.write(USAGE); return 0; }
        else if (a.startsWith('-')) { process.stderr.write(`vtopo export: unknown option ${a}\n${USAGE}`); return 2; }
        else files.push(a);
    }
    if (files.length !== 1 || !format || !(EXPORT_FORMATS as readonly string[]).includes(format)) {
        process.stderr.write(USAGE);
        return 2;
    }
    try {
        process.stdout.write(await exportTopology(files[0], format as ExportFormat, { ...(vm ? { vm } : {}), ...(host !== undefined ? { host } : {}) }));
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
