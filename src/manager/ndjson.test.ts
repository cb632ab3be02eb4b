import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonDecoder } from './ndjson.ts';

test('values split across chunks at any byte come out whole and in order', () => {
  const text = '{"a":1}\n{"b":"é"}\n\n{"c":[1,2]}\n';
  const bytes = Buffer.from(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new NdjsonDecoder();
    const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.deepEqual(out, [{ a: 1 }, { b: 'é' }, { c: [1, 2] }], `cut at ${cut}`);
  }
});

test('a line longer than the limit is refused before it is complete', () => {
  const d = new NdjsonDecoder(16);
  assert.deepEqual(d.push(Buffer.from('{"x":"12345')), []);
  assert.throws(() => d.push(Buffer.from('6789012345')), /too long/);
});

test('a line that is not JSON is named', () => {
  assert.throws(() => new NdjsonDecoder().push(Buffer.from('not json\n')), /not JSON/);
});
