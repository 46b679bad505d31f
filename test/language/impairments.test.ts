/**
 * The impair block and expect lines: the normative syntax parses and checks
 * clean, the units read as tc writes them, every bad value gets a one-line
 * message naming the fix on its own word, and the plan carries the values.
 */
import { describe, expect, it } from 'vitest';
import { parseDuration, parseImpairWords, parsePercent, parseRate } from '../../src/core/impair.js';
import { checkText } from '../../src/language/load.js';
import { compilePlan, topologyOf } from '../../src/plan/compile.js';
import { diagnostics, lab } from './helpers.js';

async function compileText(text: string) {
    const r = await checkText(text, 'f.vtopo');
    return compilePlan(topologyOf(r.model!, 'f.vtopo'), { runRoot: '/tmp/vtopo-impair-test', kvmUsable: false, sourceFile: '/tmp/f.vtopo', onlineCpus: [0, 1, 2, 3] });
}

const NORMATIVE = lab({
    elements: `bridge br1
  link br0 br1 { impair { delay 5ms } }
  expect a reaches b
  expect a isolated c
  expect rtt a b < 50ms
  expect throughput a b > 200mbit
  vm c { cpus 1 memory 256M port eth0 { bridge br1 ip 10.0.1.3/24 } }`,
    portA: `bridge br0  ip 10.0.0.1/24
            impair { delay 20ms  jitter 2ms  loss 1%  duplicate 0.1%  reorder 1%  rate 100mbit }`,
});

describe('impair and expect', () => {
    it('parses and checks the normative syntax with no error', async () => {
        const d = await diagnostics(NORMATIVE);
        expect(d.filter((x) => x.severity === 'error')).toEqual([]);
    });

    it('reads durations, percentages and rates in tc spelling', () => {
        expect(parseDuration('500us')).toEqual({ value: 500 });
        expect(parseDuration('20ms')).toEqual({ value: 20_000 });
        expect(parseDuration('1s')).toEqual({ value: 1_000_000 });
        expect(parsePercent('0.5%')).toEqual({ value: 0.5 });
        expect(parseRate('500kbit')).toEqual({ value: 500_000 });
        expect(parseRate('100mbit')).toEqual({ value: 100_000_000 });
        expect(parseRate('1gbit')).toEqual({ value: 1e9 });
        expect(parseRate('100mbps')).toMatchObject({ error: expect.stringContaining('mbit') });
        expect(parsePercent('-1%')).toMatchObject({ error: expect.stringContaining('negative') });
        expect(parsePercent('150%')).toMatchObject({ error: expect.stringContaining('over 100%') });
        expect(parseDuration('20')).toMatchObject({ error: expect.stringContaining('needs a unit') });
    });

    it('keeps sizes and core lists lexing as before', async () => {
        const d = await diagnostics(lab({ host: 'cores 0-3  memory 16G  hugepages 512M  poll-cores 3' }));
        expect(d.filter((x) => x.severity === 'error')).toEqual([]);
    });

    it.each([
        ['loss -1%', 'negative'],
        ['loss 101%', 'over 100%'],
        ['rate 100mb', "unknown rate unit 'mb'"],
        ['rate 100mbps', 'mbit'],
        ['delay 20', 'needs a unit'],
        ['delay 2m', "unknown duration unit 'm'"],
    ])('%s: one error on its word, naming the fix', async (text, words) => {
        const src = lab({ portA: `bridge br0  ip 10.0.0.1/24  impair { ${text} }` });
        const errs = (await diagnostics(src)).filter((x) => x.severity === 'error');
        expect(errs).toHaveLength(1);
        expect(errs[0].code).toBe('impair-value-invalid');
        expect(errs[0].message).toContain(words);
        expect(errs[0].message).not.toContain('\n');
        expect(errs[0].line).toBe(src.split('\n').findIndex((l) => l.includes('impair')) + 1);
        await expect(compileText(src)).rejects.toThrow(words);
    });

    it('says delay needs datapath embedded on the delay word of an OvS port', async () => {
        const src = lab({ host: 'cores 0-3  memory 8G  hugepages 2G  poll-cores 3', elements: 'bridge sw { datapath ovs }', portB: 'bridge sw  ip 10.0.1.2/24\n impair { rate 10mbit\n delay 20ms }' });
        const errs = (await diagnostics(src)).filter((x) => x.code === 'impair-needs-embedded');
        expect(errs).toHaveLength(1);
        expect(errs[0].message).toContain('delay needs datapath embedded');
        expect(errs[0].line).toBe(src.split('\n').findIndex((l) => l.includes('delay 20ms')) + 1);
    });

    it('names an unknown VM of an expect', async () => {
        const errs = (await diagnostics(lab({ elements: 'expect a reaches zz' }))).filter((x) => x.severity === 'error');
        expect(errs.map((e) => e.message)).toEqual([expect.stringContaining("Unknown vm 'zz'")]);
    });

    it('puts impairments and expectations in the plan', async () => {
        const plan = await compileText(NORMATIVE);
        expect(plan.vms.find((v) => v.name === 'a')!.ports[0].impair).toEqual({ delayUs: 20_000, jitterUs: 2000, lossPct: 1, duplicatePct: 0.1, reorderPct: 1, rateBps: 100e6 });
        expect(plan.vms.find((v) => v.name === 'b')!.ports[0].impair).toBeUndefined();
        expect(plan.links).toEqual([{ id: 'br0--br1', a: 'br0', b: 'br1', impair: { delayUs: 5000 } }]);
        const lines = NORMATIVE.split('\n');
        expect(plan.expectations).toEqual([
            { line: lines.findIndex((l) => l.includes('reaches')) + 1, kind: 'reaches', from: 'a', to: 'b' },
            { line: lines.findIndex((l) => l.includes('isolated')) + 1, kind: 'isolated', from: 'a', to: 'c' },
            { line: lines.findIndex((l) => l.includes('rtt')) + 1, kind: 'rtt', from: 'a', to: 'b', limit: 50 },
            { line: lines.findIndex((l) => l.includes('throughput')) + 1, kind: 'throughput', from: 'a', to: 'b', limit: 200e6 },
        ]);
    });
});

describe('impairment words (vtopo impair and the editor\'s Impair… share them)', () => {
    it('reads flags with or without --, inline values, and clear; other words are left for the caller', () => {
        expect(parseImpairWords(['f.vtopo', 'b.eth0', '--delay', '20ms', 'loss', '1%', '--rate=100mbit'])).toEqual({ impair: { delayUs: 20_000, lossPct: 1, rateBps: 100e6 }, rest: ['f.vtopo', 'b.eth0'] });
        expect(parseImpairWords(['clear'])).toEqual({ impair: {}, rest: [] });
    });

    it('says what is wrong: a bad value, an unknown option, clear with options, nothing given', () => {
        expect(parseImpairWords(['loss', '150%'])).toEqual({ error: expect.stringContaining('over 100%') });
        expect(parseImpairWords(['--speed', '1'])).toEqual({ error: 'unknown option --speed' });
        expect(parseImpairWords(['clear', 'delay', '1ms'])).toEqual({ error: '--clear takes no other impairment option' });
        expect(parseImpairWords(['b.eth0'])).toEqual({ error: expect.stringContaining('give at least one of') });
        expect(parseImpairWords(['delay'])).toEqual({ error: '--delay needs a value' });
    });
});
