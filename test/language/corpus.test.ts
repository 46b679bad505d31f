/**
 * The examples check clean; every file of the invalid corpus reports exactly
 * the codes its first line announces (`// expect: code …`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/language/load.js';
import { expectedCodes } from './helpers.js';
import { prop } from '../../src/language/props.js';

const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.vtopo')).map((f) => `examples/${f}`);
const INVALID = readdirSync('test/fixtures/invalid').filter((f) => f.endsWith('.vtopo')).map((f) => `test/fixtures/invalid/${f}`);

describe('examples', () => {
    it('include a two-VM lab, a multi-queue lab, an ovs lab and a lab with a NIC', () => {
        expect(EXAMPLES).toEqual(expect.arrayContaining(['examples/two-vms.vtopo', 'examples/multi-queue.vtopo', 'examples/ovs.vtopo', 'examples/nic.vtopo']));
        const text = (f: string) => readFileSync(f, 'utf8');
        expect(text('examples/multi-queue.vtopo')).toMatch(/queues [2-9]/);
        expect(text('examples/ovs.vtopo')).toMatch(/datapath ovs/);
        expect(text('examples/nic.vtopo')).toMatch(/^\s*nic \w+/m);
    });

    it('check with no errors, and the design example too', async () => {
        for (const r of await checkFiles([...EXAMPLES, 'test/fixtures/design-example.vtopo'])) {
            expect(r.diagnostics.filter((d) => d.severity === 'error'), r.file).toEqual([]);
        }
    });

    it('two-vms stays the small lab the main job boots under TCG: two 1-vCPU 256M VMs on one embedded bridge, one /24', async () => {
        const [r] = await checkFiles(['examples/two-vms.vtopo']);
        expect(r.diagnostics).toEqual([]);
        const topo = r.model!.topologies[0];
        const vms = topo.elements.filter((e) => e.$type === 'Vm');
        const bridges = topo.elements.filter((e) => e.$type === 'Bridge');
        expect(vms.map((v) => [prop(v, 'cpus'), prop(v, 'memory')])).toEqual([[1, 256 * 2 ** 20], [1, 256 * 2 ** 20]]);
        expect(bridges.map((b) => prop(b, 'datapath') ?? 'embedded')).toEqual(['embedded']);
        expect(vms.flatMap((v) => v.ports.map((p) => prop(p, 'ip')?.replace(/\.\d+\//, '.x/')))).toEqual(['10.0.0.x/24', '10.0.0.x/24']);
    });
});

describe('invalid corpus', () => {
    it('has a file per rule family', () => {
        expect(INVALID.length).toBeGreaterThanOrEqual(12);
    });

    for (const file of INVALID) {
        it(file.replace('test/fixtures/invalid/', ''), async () => {
            const [r] = await checkFiles([file]);
            expect([...new Set(r.diagnostics.map((d) => d.code))].sort()).toEqual(expectedCodes(file));
        });
    }
});
