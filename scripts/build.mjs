// Bundles the CLI, the language server and the VS Code extension to CommonJS.
import { build } from 'esbuild';

const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'warning',
    // koffi ships its native binary per platform: load it from node_modules
    // (the .vsix carries node_modules/koffi), never inline it.
    external: ['koffi', 'vscode'],
    // src/host/self-exec.ts reads import.meta.url only when __filename is
    // absent (ESM under tsx); in these CommonJS bundles __filename is there.
    logOverride: { 'empty-import-meta': 'silent' },
};

await Promise.all([
    build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'out/cli.cjs' }),
    build({ ...common, entryPoints: ['server/main.ts'], outfile: 'out/server.cjs' }),
    build({ ...common, entryPoints: ['src/extension/main.ts'], outfile: 'out/extension.cjs' }),
]);
