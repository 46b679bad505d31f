import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        // Integration tests boot QEMU guests and datapaths on a 2-core host:
        // files run one after another so they do not starve each other.
        fileParallelism: false,
        testTimeout: 30_000,
        hookTimeout: 120_000,
        reporters: ['default'],
        setupFiles: ['test/support/stall-watch.ts'],
    },
});
