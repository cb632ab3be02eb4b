import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, FrameType, MAX_FRAME, parseRequest } from './frames.ts';

test('frames survive any chunking: byte by byte and all at once decode the same', () => {
  const wire = Buffer.concat([
    encodeFrame(FrameType.stdout, Buffer.from('hello ')),
    encodeFrame(FrameType.stderr, Buffer.from('oops')),
    encodeFrame(FrameType.stdout, Buffer.alloc(0)),
    encodeFrame(FrameType.exit, Buffer.from('{"code":3,"signal":null}')),
  ]);
  const whole = new FrameDecoder().push(wire);
  const d = new FrameDecoder();
  const bytewise = [...wire].flatMap((b) => d.push(Buffer.from([b])));
  assert.equal(d.pending, 0);
  const show = (fs: typeof whole) => fs.map((f) => [f.type, f.payload.toString()]);
  assert.deepEqual(show(bytewise), show(whole));
  assert.deepEqual(show(whole), [
    [1, 'hello '],
    [2, 'oops'],
    [1, ''],
    [3, '{"code":3,"signal":null}'],
  ]);
});

test('a cut frame stays pending; unknown types and oversized lengths are refused before buffering', () => {
  const d = new FrameDecoder();
  assert.deepEqual(d.push(encodeFrame(FrameType.stdout, Buffer.from('abc')).subarray(0, 6)), []);
  assert.equal(d.pending, 6);
  const bad = Buffer.alloc(5);
  bad.writeUInt8(9, 0);
  assert.throws(() => new FrameDecoder().push(bad), /unknown frame type 9/);
  const big = Buffer.alloc(5);
  big.writeUInt8(FrameType.stdout, 0);
  big.writeUInt32BE(MAX_FRAME + 1, 1);
  assert.throws(() => new FrameDecoder().push(big), /frame length/);
  assert.throws(() => encodeFrame(FrameType.stdout, Buffer.alloc(MAX_FRAME + 1)), /frame payload/);
});

test('requests: each bad field is named with the form expected', () => {
  assert.deepEqual(parseRequest('{"token":"t","argv":["ls","-l"],"cwd":"/x","env":{"A":"1"}}'), {
    token: 't',
    argv: ['ls', '-l'],
    cwd: '/x',
    env: { A: '1' },
  });
  assert.throws(() => parseRequest('nope'), /request: expected one JSON object/);
  assert.throws(() => parseRequest('{"argv":["ls"]}'), /request\.token: expected a string/);
  assert.throws(() => parseRequest('{"token":"t","argv":[]}'), /request\.argv: expected a non-empty array/);
  assert.throws(
    () => parseRequest('{"token":"t","argv":["ls"],"cwd":"rel"}'),
    /request\.cwd: expected an absolute/,
  );
  assert.throws(() => parseRequest('{"token":"t","argv":["ls"],"env":{"A":1}}'), /request\.env: expected/);
});
