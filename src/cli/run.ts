/** Command dispatch. Each command lives in its own module and returns an exit code. */
export type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {};

export function registerCommand(name: string, load: () => Promise<Command>): void {
    commands[name] = load;
}

registerCommand('check', async () => (await import('./check.js')).default);
registerCommand('datapath', async () => (await import('./datapath.js')).default);
registerCommand('vm-supervise', async () => (await import('./vm-supervise.js')).default);
registerCommand('plan', async () => (await import('./plan.js')).default);
registerCommand('deploy', async () => (await import('./deploy.js')).default);
registerCommand('status', async () => (await import('./status.js')).default);
registerCommand('verify', async () => (await import('./verify.js')).default);
registerCommand('destroy', async () => (await import('./destroy.js')).default);
registerCommand('export', async () => (await import('./export.js')).default);
registerCommand('impair', async () => (await import('./impair.js')).default);
for (const name of ['start', 'stop', 'restart', 'exec', 'console', 'capture', 'link'] as const) {
    registerCommand(name, async () => (await import('./lab.js'))[name]);
}

const USAGE = `usage: vtopo <command> [args]

commands:
  check FILE... [--json]     parse and check topologies
  plan FILE [--json]         what a deploy would change against what runs now
  deploy FILE [--json]       check, then start/change the datapath, bridges, ports and guests
  status FILE [--json]       guests, ports (link, counters, queues), PMDs/poll loop and datapath of a deployment
    [--watch [--interval S]]  refresh in place every S seconds (default 1) with per-second rates
  verify FILE [--json]       every guest pings its L2 neighbours; exit 0 only if all reach
  destroy FILE               stop and remove everything the deployment created
  export FILE --format F     F = ovs-vsctl | qemu | libvirt
  impair FILE PORT [--delay D] [--jitter D] [--loss P] [--duplicate P] [--reorder P] [--rate R] | --clear
                             change a running port's (or link's) impairment in place, until the next deploy

working in a running lab:
  start|stop|restart FILE VM one guest; the others keep running (a stopped guest stays
                             stopped until start or the next deploy)
  exec FILE VM -- CMD [ARG]  run CMD in the guest, stream its output, exit with its code
  console FILE VM            the guest's serial console (raw; Ctrl-] leaves)
  capture FILE PORT [-w OUT.pcap | -w -] [-c COUNT] [--duration D]
                             pcap of PORT (VM.PORT or a nic), both directions
  link FILE PORT down|up     carrier off/on for a guest port, a nic or a link (a--b)

plan, deploy, status, verify, destroy and the lab commands take --ovsdb unix:PATH: put the
\`datapath ovs\` bridges on the existing Open vSwitch whose database listens
at PATH (overrides \`host { ovsdb }\`) instead of a private one.
`;

export async function run(argv: string[]): Promise<number> {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
        process.stdout.write(USAGE);
        return name ? 0 : 2;
    }
    const load = commands[name];
    if (!load) {
        process.stderr.write(`vtopo: unknown command '${name}'\n${USAGE}`);
        return 2;
    }
    return (await load())(rest);
}
