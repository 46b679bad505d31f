/**
 * Setup file: reports any stretch over 20 s in which a test worker's event
 * loop did not turn (a synchronous spawn or loop). Past 60 s vitest's worker
 * RPC times out and the run fails with no test named; this line names it.
 */
import { expect } from 'vitest';

const STEP_MS = 1000;
const REPORT_MS = 20_000;
let last = Date.now();
setInterval(() => {
    const now = Date.now();
    const stalled = now - last - STEP_MS;
    if (stalled > REPORT_MS) {
        const test = expect.getState().currentTestName ?? '(between tests)';
        process.stderr.write(`stall-watch: this worker's event loop was blocked for ${Math.round(stalled / 1000)} s, in ${expect.getState().testPath ?? '?'} > ${test}\n`);
    }
    last = now;
}, STEP_MS).unref();
