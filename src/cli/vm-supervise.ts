/** `vtopo vm-supervise SPEC`: internal, started by launchVm (src/backends/qemu/launcher.ts). */
import { supervise } from '../backends/qemu/supervisor.js';

export default async function vmSupervise(args: string[]): Promise<number> {
    if (args.length !== 1) {
        process.stderr.write('usage: vtopo vm-supervise LAUNCH_SPEC.json (internal: started by deploy)\n');
        return 2;
    }
    return supervise(args[0]);
}
