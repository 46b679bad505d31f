import { readFileSync } from 'node:fs';
import { EmptyFileSystem } from 'langium';
import { parseHelper } from 'langium/test';
import type { Model } from '../../src/language/generated/ast.js';
import { checkText, type TopologyDiagnostic } from '../../src/language/load.js';
import { createVtopoServices } from '../../src/language/vtopo-module.js';

/** One LSP service set for the editor-feature tests (no file system, no client). */
export const lsp = createVtopoServices(EmptyFileSystem);
export const parse = parseHelper<Model>(lsp.Vtopo);

/** Diagnostics of a text through the same path as `vtopo check`. */
export async function diagnostics(text: string): Promise<TopologyDiagnostic[]> {
    return (await checkText(text)).diagnostics;
}

export async function codes(text: string): Promise<string[]> {
    return (await diagnostics(text)).map((d) => d.code);
}

/**
 * A small valid lab to mutate: a host with 4 cores (poll core 3), one
 * embedded bridge, two VMs with a port each on one /24. `a`/`b` replace a
 * VM's settings, `portA`/`portB` its port body; `elements` adds to the topology.
 */
export interface LabOptions { host?: string | null; elements?: string; a?: string; b?: string; portA?: string; portB?: string }

export function lab(o: LabOptions = {}): string {
    const host = o.host === null ? '' : `host { ${o.host ?? 'cores 0-3  memory 8G  poll-cores 3'} }`;
    return `topology t {
  ${host}
  bridge br0
  ${o.elements ?? ''}
  vm a {
    ${o.a ?? 'cpus 2  memory 256M'}
    port eth0 { ${o.portA ?? 'bridge br0  ip 10.0.0.1/24'} }
  }
  vm b {
    ${o.b ?? 'cpus 1  memory 256M'}
    port eth0 { ${o.portB ?? 'bridge br0  ip 10.0.0.2/24'} }
  }
}
`;
}

/** The codes an invalid-corpus file announces on its first line: `// expect: code …`. */
export function expectedCodes(file: string): string[] {
    const m = /^\/\/ expect:(.*)$/m.exec(readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${file} does not start with '// expect: code …'`);
    return m[1].trim().split(/\s+/).sort();
}
