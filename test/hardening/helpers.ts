import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A private directory (0700 from mkdtemp) under the system temp dir. */
export function tempDir(tag: string): string {
    return mkdtempSync(path.join(tmpdir(), `vtopo-${tag}-`));
}
