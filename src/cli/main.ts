import { run } from './run.js';

run(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
        process.stderr.write(`vtopo: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exitCode = 70;
    },
);
