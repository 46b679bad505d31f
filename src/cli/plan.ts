/** `vtopo plan FILE [--json]`: what a deploy would do against what runs now, like `terraform plan`. */
import { reportError } from '../runtime/format.js';
import { plan } from '../runtime/index.js';

export default async function planCommand(args: string[]): Promise<number> {
    const json = args.includes('--json');
    const files = args.filter((a) => !a.startsWith('--'));
    if (files.length !== 1 || args.some((a) => a.startsWith('--') && a !== '--json')) {
        process.stderr.write('usage: vtopo plan FILE [--json]\n');
        return 2;
    }
    try {
        const r = await plan(files[0]);
        process.stdout.write(json ? JSON.stringify({ actions: r.actions, notes: r.notes }, null, 2) + '\n' : r.text);
        return 0;
    } catch (err) {
        return reportError(err);
    }
}
