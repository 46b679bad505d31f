/** `vtopo destroy FILE`: tear down everything the persisted state says we started. */
import { formatProgress, reportError } from '../runtime/format.js';
import { destroy } from '../runtime/index.js';

export default async function destroyCommand(args: string[]): Promise<number> {
    const files = args.filter((a) => !a.startsWith('--'));
    if (files.length !== 1) {
        process.stderr.write('usage: vtopo destroy FILE\n');
        return 2;
    }
    try {
        await destroy(files[0], { onProgress: (e) => process.stdout.write(formatProgress(e)) });
        process.stdout.write('destroy: nothing of this topology is left running\n');
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
