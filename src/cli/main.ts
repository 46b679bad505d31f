import { run } from './run.js';

// Runtime files (pidfiles, plans, logs, sockets) hold host paths and control endpoints: owner-only.
process.umask(0o077);

run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
        process.stderr.write(`vtopo: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exitCode = 70;
    },
);
