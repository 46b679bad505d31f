/**
 * dpdk-testpmd in interactive mode, in its own process group: spawned with
 * the caller's vdevs and options, driven one prompt command at a time.
 * test/datapath/peers.ts (one port) and test/fuzz/peers.ts (a forwarding
 * pair) build their testpmd on this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { killGroup } from './datapath-proc.js';
import { until } from './wait.js';

const PROMPT = 'testpmd> ';

export class TestpmdPrompt {
    proc: ChildProcess | undefined;
    private out = '';
    private consumed = 0;

    constructor(readonly prefix: string) {}

    /** The EAL options every test run uses (no PCI, no hugepages, two lcores on CPU 0), then ours. */
    protected async launch(vdevs: string[], appArgs: string[], what: string, timeoutMs: number): Promise<void> {
        const args = [
            '-oL', 'dpdk-testpmd', '--no-pci', '--no-huge', '-m', '256', `--file-prefix=${this.prefix}`, '--lcores', '0@0,1@0', '--no-telemetry',
            ...vdevs.flatMap((v) => ['--vdev', v]), '--', '-i', ...appArgs,
        ];
        this.out = '';
        this.consumed = 0;
        this.proc = spawn('stdbuf', args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
        this.proc.stdout!.on('data', (d) => (this.out += d.toString()));
        this.proc.stderr!.on('data', (d) => (this.out += d.toString()));
        this.proc.stdin!.on('error', () => {});
        try {
            await until(what, () => {
                if (this.proc?.exitCode !== null) throw new Error(`testpmd exited: ${this.out.slice(-2000)}`);
                return this.out.includes(PROMPT);
            }, timeoutMs);
        } catch (e) {
            // A testpmd that never showed its prompt may still hold its vhost-user connection: the
            // switch (one frontend per port) would then refuse the next test's testpmd on that socket.
            this.kill();
            throw e;
        }
        this.consumed = this.out.lastIndexOf(PROMPT) + PROMPT.length;
    }

    /** Runs one prompt command and returns its output. */
    async cmd(line: string, timeoutMs = 15_000, stepMs = 20): Promise<string> {
        const from = this.consumed;
        this.proc!.stdin!.write(line + '\n');
        await until(`testpmd '${line}'`, () => this.out.indexOf(PROMPT, from) >= 0, timeoutMs, stepMs);
        const at = this.out.indexOf(PROMPT, from);
        this.consumed = at + PROMPT.length;
        const text = this.out.slice(from, at);
        // A long run prints for ever: keep only what is still to be read.
        if (this.out.length > 1 << 20) {
            this.out = this.out.slice(this.consumed);
            this.consumed = 0;
        }
        return text;
    }

    output(): string {
        return this.out;
    }

    kill(): void {
        killGroup(this.proc);
        this.proc = undefined;
        try { rmSync(`/var/run/dpdk/${this.prefix}`, { recursive: true, force: true }); } catch { /* none */ }
    }

    async quit(): Promise<void> {
        if (!this.proc) return;
        const p = this.proc;
        try { p.stdin!.write('quit\n'); } catch { /* closed */ }
        await until('testpmd exit', () => p.exitCode !== null || p.signalCode !== null, 8000).catch(() => undefined);
        this.kill();
    }
}
