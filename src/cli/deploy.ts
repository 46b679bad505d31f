/** `vtopo deploy FILE`: check, plan, reconcile against what runs, apply with progress. */
import { formatProgress, formatStatus, reportError } from '../runtime/format.js';
import { deploy } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function deployCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('deploy', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb } = a;
    try {
        const r = await deploy(file, {
            ...(ovsdb ? { ovsdb } : {}),
            onProgress: (e) => (json ? process.stderr : process.stdout).write(formatProgress(e)),
        });
        if (json) {
            process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        } else {
            process.stdout.write(r.applied.length === 0
                ? 'deploy: nothing to change, everything already runs as declared\n'
                : `deploy: applied ${r.applied.length} action(s)\n`);
            process.stdout.write('\n' + formatStatus(r.status));
        }
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
