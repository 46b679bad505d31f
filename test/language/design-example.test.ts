import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHelper } from 'langium/test';
import type { Model } from '../../src/language/generated/ast.js';
import { createVtopoServices } from '../../src/language/vtopo-module.js';
import { EmptyFileSystem } from 'langium';
import { prop } from '../../src/language/props.js';

const services = createVtopoServices(EmptyFileSystem).Vtopo;
const parse = parseHelper<Model>(services);

describe('DESIGN.md normative example', () => {
    it('parses with no errors and resolves every reference', async () => {
        const doc = await parse(readFileSync('test/fixtures/design-example.vtopo', 'utf8'), { validation: true });
        expect(doc.parseResult.lexerErrors).toEqual([]);
        expect(doc.parseResult.parserErrors).toEqual([]);
        const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
        expect(errors).toEqual([]);
        const topo = doc.parseResult.value.topologies[0];
        expect(topo.name).toBe('lab');
        const web = topo.elements.find((e) => e.$type === 'Vm' && e.name === 'web');
        expect(web && web.$type === 'Vm' && prop(web.ports[0], 'bridge')?.ref?.name).toBe('br0');
        expect(web && web.$type === 'Vm' && prop(web.ports[0], 'mac')).toBe('52:54:00:00:00:01');
        expect(web && web.$type === 'Vm' && prop(web, 'memory')).toBe(256 * 2 ** 20);
    });
});
