/** `vtopo status FILE [--json]`: the live view of a deployed topology. */
import { formatStatus, reportError } from '../runtime/format.js';
import { status } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function statusCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('status', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb } = a;
    try {
        const s = await status(file, ovsdb ? { ovsdb } : {});
        process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
