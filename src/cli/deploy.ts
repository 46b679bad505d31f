/** `vtopo deploy FILE`: check, plan, reconcile against what runs, apply with progress. */
import { formatProgress, formatStatus, reportError } from '../runtime/format.js';
import { deploy } from '../runtime/index.js';

export default async function deployCommand(args: string[]): Promise<number> {
    const json = args.includes('--json');
    const files = args.filter((a) => !a.startsWith('--'));
    if (files.length !== 1) {
        process.stderr.write('usage: vtopo deploy FILE [--json]\n');
        return 2;
    }
    try {
        const r = await deploy(files[0], {
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
