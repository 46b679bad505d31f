/** Command dispatch. Each command lives in its own module and returns an exit code. */
export type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {};

export function registerCommand(name: string, load: () => Promise<Command>): void {
    commands[name] = load;
}

registerCommand('check', async () => (await import('./check.js')).default);
registerCommand('vm-supervise', async () => (await import('./vm-supervise.js')).default);

const USAGE = `usage: vtopo <command> [args]

commands:
  check FILE... [--json]     parse and check topologies
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
