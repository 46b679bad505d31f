/** `vtopo plan FILE [--json]`: what a deploy would do against what runs now, like `terraform plan`. */
import { reportError } from '../runtime/format.js';
import { plan } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function planCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('plan', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb, host } = a;
    try {
        const r = await plan(file, { ...(ovsdb ? { ovsdb } : {}), ...(host ? { host } : {}) });
        process.stdout.write(json ? JSON.stringify({ actions: r.actions, notes: r.notes, warnings: r.warnings ?? [] }, null, 2) + '\n' : r.text);
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
