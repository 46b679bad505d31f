/** `vtopo verify FILE [--json]`: every guest pings its L2 neighbours; exit 0 only if all reach. */
import { formatProgress, formatVerify, reportError } from '../runtime/format.js';
import { verify } from '../runtime/index.js';

export default async function verifyCommand(args: string[]): Promise<number> {
    const json = args.includes('--json');
    const files = args.filter((a) => !a.startsWith('--'));
    if (files.length !== 1) {
        process.stderr.write('usage: vtopo verify FILE [--json]\n');
        return 2;
    }
    try {
        const r = await verify(files[0], json ? {} : { onProgress: (e) => process.stderr.write(formatProgress(e)) });
        process.stdout.write(json ? JSON.stringify({ pairs: r.pairs }, null, 2) + '\n' : formatVerify(r));
        return r.pairs.every((p) => p.ok) ? 0 : 1;
    } catch (err) {
        return reportError(err);
    }
}
