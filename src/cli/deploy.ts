/** `vtopo deploy FILE`: check, plan, reconcile against what runs, apply with progress. */
import { formatProgress, formatStatus, reportError } from '../runtime/format.js';
import { deploy } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function deployCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('deploy', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb, host } = a;
    try {
        const r = await deploy(file, {
            ...(ovsdb ? { ovsdb } : {}),
            ...(host ? { host } : {}),
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
        const failed = (r.hosts ?? []).filter((h) => !h.ok);
        for (const h of r.hosts ?? []) {
            if (h.ok) process.stdout.write(json ? '' : `host ${h.host}: ${h.applied ? `applied ${h.applied} action(s) there` : 'nothing to change there'}\n`);
            else process.stderr.write(`vtopo deploy: host ${h.host}: ${h.error}\n${h.fix ? `  fix: ${h.fix}\n` : ''}`);
        }
        if (failed.length) process.stderr.write(`vtopo deploy: ${failed.length} host(s) failed (${failed.map((h) => h.host).join(', ')}); the other hosts are deployed and left as they are\n`);
        return failed.length ? 1 : 0;
    } catch (err) {
        return reportError(err);
    }
}
