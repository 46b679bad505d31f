/** `vtopo destroy FILE`: tear down everything the persisted state says we started. */
import { formatProgress, reportError } from '../runtime/format.js';
import { destroy } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function destroyCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('destroy', argv, false);
    if (typeof a === 'number') return a;
    const { file, ovsdb, host } = a;
    try {
        await destroy(file, { ...(ovsdb ? { ovsdb } : {}), ...(host ? { host } : {}), onProgress: (e) => process.stdout.write(formatProgress(e)) });
        process.stdout.write('destroy: nothing of this topology is left running\n');
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
