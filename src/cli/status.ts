/** `vtopo status FILE [--json]`: the live view of a deployed topology. */
import { formatStatus, reportError } from '../runtime/format.js';
import { status } from '../runtime/index.js';

export default async function statusCommand(args: string[]): Promise<number> {
    const json = args.includes('--json');
    const files = args.filter((a) => !a.startsWith('--'));
    if (files.length !== 1) {
        process.stderr.write('usage: vtopo status FILE [--json]\n');
        return 2;
    }
    try {
        const s = await status(files[0]);
        process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
