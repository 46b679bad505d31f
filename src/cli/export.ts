/** `vtopo export FILE --format ovs-vsctl|qemu|libvirt [--vm NAME]`: the plan in other tools' terms. */
import { EXPORT_FORMATS, type ExportFormat } from '../plan/export/index.js';
import { reportError } from '../runtime/format.js';
import { exportTopology } from '../runtime/index.js';

const USAGE = `usage: vtopo export FILE --format ${EXPORT_FORMATS.join('|')} [--vm NAME]
  ovs-vsctl  a shell script creating the file's OvS bridges, ports and patch links
  qemu       a shell script with every VM's QEMU command line
  libvirt    libvirt domain XML, one document per VM (--vm NAME for one)
`;

export default async function exportCommand(args: string[]): Promise<number> {
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
        process.stdout.write(await exportTopology(files[0], format as ExportFormat, vm ? { vm } : {}));
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
