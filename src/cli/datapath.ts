/** `vtopo datapath …`: the embedded switch process (spawned by the runtime). */
import { parseDatapathArgs, runDatapath } from '../datapath/main.js';

export default async function datapath(args: string[]): Promise<number> {
    let parsed;
    try {
        parsed = parseDatapathArgs(args);
    } catch (e) {
        process.stderr.write(`vtopo datapath: ${(e as Error).message}\nusage: vtopo datapath --control SOCK [--pidfile FILE] [--log FILE] [--poll-cores LIST]\n`);
        return 2;
    }
    return runDatapath(parsed);
}
