import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, MAX_FRAME, Opcode } from './websocket.ts';
import { parseCriLog } from './logs.ts';

function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, len])
      : len < 65536
        ? Buffer.alloc(4)
        : Buffer.alloc(10);
  if (len >= 126 && len < 65536) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

test('the decoder yields the same frames whatever the chunking', () => {
  const payloads = [
    Buffer.from([1, 104, 105]),
    Buffer.alloc(300, 7),
    Buffer.alloc(70_000, 9),
    Buffer.alloc(0),
  ];
  const wire = Buffer.concat([
    serverFrame(Opcode.binary, payloads[0]!),
    serverFrame(Opcode.binary, payloads[1]!, false),
    serverFrame(Opcode.continuation, payloads[2]!),
    serverFrame(Opcode.close, payloads[3]!),
  ]);
  for (const split of [1, 2, 3, 5, 127, 4096, wire.length]) {
    const d = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < wire.length; i += split) frames.push(...d.push(wire.subarray(i, i + split)));
    assert.equal(frames.length, 4, `split ${split}`);
    assert.deepEqual(
      frames.map((f) => f.opcode),
      [Opcode.binary, Opcode.binary, Opcode.continuation, Opcode.close],
    );
    assert.deepEqual(
      frames.map((f) => f.fin),
      [true, false, true, true],
    );
    frames.forEach((f, i) => assert.ok(f.payload.equals(payloads[i]!), `payload ${i}, split ${split}`));
  }
});

test('a masked client frame decodes back to its payload', () => {
  for (const len of [0, 5, 125, 126, 65535, 65536]) {
    const payload = Buffer.alloc(len, 0xab);
    const [f] = new FrameDecoder().push(encodeFrame(Opcode.binary, payload, Buffer.from([1, 2, 3, 4])));
    assert.ok(f?.payload.equals(payload), `length ${len}`);
  }
});

test('a frame longer than the limit is refused before it is buffered', () => {
  const head = Buffer.alloc(10);
  head[0] = 0x82;
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(MAX_FRAME + 1), 2);
  assert.throws(() => new FrameDecoder().push(head), /too large/);
});

test('CRI log lines: partial entries are joined per stream', () => {
  const log = [
    '2026-01-01T00:00:00.000000001Z stdout P hel',
    '2026-01-01T00:00:00.000000002Z stderr F oops',
    '2026-01-01T00:00:00.000000003Z stdout F lo',
    '2026-01-01T00:00:00.000000004Z stdout F ',
    '',
  ].join('\n');
  assert.deepEqual(parseCriLog(log), [
    { stream: 'stderr', text: 'oops' },
    { stream: 'stdout', text: 'hello' },
    { stream: 'stdout', text: '' },
  ]);
});
