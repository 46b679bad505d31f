/** `vtopo verify FILE [--json]`: every guest pings its L2 neighbours; exit 0 only if all reach. */
import { formatProgress, formatVerify, reportError } from '../runtime/format.js';
import { verify } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function verifyCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('verify', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb } = a;
    try {
        const r = await verify(file, {
            ...(ovsdb ? { ovsdb } : {}),
            ...(json ? {} : { onProgress: (e) => process.stderr.write(formatProgress(e)) }),
        });
        process.stdout.write(json ? JSON.stringify({ pairs: r.pairs }, null, 2) + '\n' : formatVerify(r));
        return r.pairs.every((p) => p.ok) ? 0 : 1;
    } catch (err) {
        return reportError(err);
    }
}
