import { describe, expect, it } from 'vitest';
import { FramingError, JsonStreamSplitter } from '../../src/backends/ovs/ovsdb/framing.js';

const messages = [
    { method: 'echo', params: [], id: 'echo' },
    { id: 1, result: [{ rows: [{ name: 'br{0}', other: '[not a bracket' }] }], error: null },
    { id: 2, result: { s: 'quote \\" and backslash \\\\ } ]' }, error: null },
    { id: 3, result: ['ünïcödé ✓ 𝄞', '"'], error: null },
    [1, [2, [3]], {}],
];

function bytesOf(values: unknown[], sep = ''): Buffer {
    return Buffer.from(values.map((v) => JSON.stringify(v)).join(sep), 'utf8');
}

describe('JsonStreamSplitter', () => {
    it('splits back-to-back values delivered in one chunk', () => {
        const s = new JsonStreamSplitter();
        expect(s.push(bytesOf(messages))).toEqual(messages);
        expect(s.pendingBytes).toBe(0);
    });

    it('reassembles values split at every possible byte boundary', () => {
        const all = bytesOf(messages, '\n ');
        for (let cut = 1; cut < all.length; cut++) {
            const s = new JsonStreamSplitter();
            const got = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut))];
            expect(got, `cut at ${cut}`).toEqual(messages);
        }
    });

    it('reassembles values fed one byte at a time (UTF-8 split mid-character)', () => {
        const all = bytesOf(messages);
        const s = new JsonStreamSplitter();
        const got: unknown[] = [];
        for (let i = 0; i < all.length; i++) got.push(...s.push(all.subarray(i, i + 1)));
        expect(got).toEqual(messages);
    });

    it('keeps a partial value pending until it completes', () => {
        const s = new JsonStreamSplitter();
        expect(s.push(Buffer.from('{"id":1,"result":"a}b'))).toEqual([]);
        expect(s.pendingBytes).toBeGreaterThan(0);
        expect(s.push(Buffer.from('c","error":null}{"id"'))).toEqual([{ id: 1, result: 'a}bc', error: null }]);
        expect(s.push(Buffer.from(':2}'))).toEqual([{ id: 2 }]);
    });

    it('rejects garbage between messages and unbalanced closers', () => {
        expect(() => new JsonStreamSplitter().push(Buffer.from('{"a":1} x'))).toThrow(FramingError);
        expect(() => new JsonStreamSplitter().push(Buffer.from('}'))).toThrow(FramingError);
        expect(() => new JsonStreamSplitter().push(Buffer.from('{"a":1,}'))).toThrow(/malformed JSON/);
    });

    it('refuses a message beyond the size limit', () => {
        const s = new JsonStreamSplitter(64);
        expect(() => s.push(Buffer.from(`{"a":"${'x'.repeat(100)}`))).toThrow(/larger than/);
    });

    it('forgets a partial message on reset', () => {
        const s = new JsonStreamSplitter();
        s.push(Buffer.from('{"a":"unterminated'));
        s.reset();
        expect(s.push(Buffer.from('{"b":2}'))).toEqual([{ b: 2 }]);
    });
});
