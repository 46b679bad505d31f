/** `vtopo verify FILE [--json]`: every guest pings its L2 neighbours, then the file's expectations; exit 0 only if all pass. */
import { formatProgress, formatVerify, reportError, verifyPassed } from '../runtime/format.js';
import { verify } from '../runtime/index.js';
import { fileCommandArgs } from './options.js';

export default async function verifyCommand(argv: string[]): Promise<number> {
    const a = fileCommandArgs('verify', argv);
    if (typeof a === 'number') return a;
    const { file, json, ovsdb, host } = a;
    try {
        const r = await verify(file, {
            ...(ovsdb ? { ovsdb } : {}),
            ...(host ? { host } : {}),
            ...(json ? {} : { onProgress: (e) => process.stderr.write(formatProgress(e)) }),
        });
        const expectations = r.expectations?.map(({ line, kind, from, to, ok, measured }) => ({ line, kind, from, to, ok, measured }));
        process.stdout.write(json ? JSON.stringify({ pairs: r.pairs, ...(expectations ? { expectations } : {}) }, null, 2) + '\n' : formatVerify(r));
        return verifyPassed(r) ? 0 : 1;
    } catch (err) {
        return reportError(err);
    }
}
