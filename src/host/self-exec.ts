import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * argv prefix that runs this same vtopo CLI in a child process (the runtime
 * spawns `vtopo datapath …` this way). From the bundle (out/cli.cjs) it is
 * node + the bundle; from sources (tests, dev) it is node + tsx + main.ts.
 */
export function selfExecArgv(): string[] {
    const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
    // Every bundle sits in out/ beside cli.cjs: the language server (out/server.cjs) must spawn the CLI, not itself.
    if (here.endsWith('.cjs')) return [process.execPath, path.join(path.dirname(here), 'cli.cjs')];
    const root = projectRoot();
    const bundle = path.join(root, 'out', 'cli.cjs');
    if (process.env.VTOPO_USE_BUNDLE === '1' && existsSync(bundle)) return [process.execPath, bundle];
    // An absolute loader URL so the child may run with any cwd.
    const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    return [process.execPath, '--import', tsx, path.join(root, 'src', 'cli', 'main.ts')];
}

/** The checkout (or installed extension) root: the folder holding package.json. */
export function projectRoot(): string {
    const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
    let dir = path.dirname(here);
    while (!existsSync(path.join(dir, 'package.json'))) {
        const up = path.dirname(dir);
        if (up === dir) throw new Error(`vtopo: cannot find package.json above ${here}`);
        dir = up;
    }
    return dir;
}
