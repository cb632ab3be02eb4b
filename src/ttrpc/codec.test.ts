import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { FrameDecoder, type Decoded } from './codec.ts';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  Flag,
  HEADER_LENGTH,
  MessageType,
  decodeHeader,
  encodeFrame,
  type Frame,
} from './frame.ts';

const frame = (
  streamId: number,
  payload: string | Uint8Array,
  type: number = MessageType.Request,
  flags = 0,
): Frame => ({
  streamId,
  type,
  flags,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
});

/** Frames as plain objects with Buffer payloads, for deepEqual across Uint8Array/Buffer. */
const frames = (items: Decoded[]) =>
  items.map((d) => {
    assert.equal(d.kind, 'frame');
    const f = (d as { frame: Frame }).frame;
    return { ...f, payload: Buffer.from(f.payload) };
  });

const norm = (fs: Frame[]) => fs.map((f) => ({ ...f, payload: Buffer.from(f.payload) }));

void describe('encodeFrame', () => {
  void test('lays the header out big-endian: length, stream id, type, flags', () => {
    const bytes = encodeFrame(frame(0x01020305, 'abc', MessageType.Data, Flag.RemoteClosed | Flag.NoData));
    assert.deepEqual([...bytes], [0, 0, 0, 3, 1, 2, 3, 5, 3, 5, 0x61, 0x62, 0x63]);
    assert.deepEqual(decodeHeader(bytes), { length: 3, streamId: 0x01020305, type: 3, flags: 5 });
  });

  void test('encodes an empty payload as a bare header', () => {
    assert.equal(encodeFrame(frame(1, '')).length, HEADER_LENGTH);
  });

  void test('accepts a payload of exactly the limit and rejects one byte more', () => {
    assert.equal(encodeFrame(frame(1, new Uint8Array(16)), 16).length, HEADER_LENGTH + 16);
    assert.throws(
      () => encodeFrame(frame(1, new Uint8Array(17)), 16),
      (err) => err instanceof ZeropodError && err.code === ErrorCode.InvalidArgument,
    );
  });

  void test('rejects header fields out of range', () => {
    for (const bad of [
      frame(-1, ''),
      frame(2 ** 32, ''),
      frame(1.5, ''),
      frame(1, '', 256),
      frame(1, '', 1, -1),
    ]) {
      assert.throws(() => encodeFrame(bad), ZeropodError);
    }
  });

  void test('decodeHeader refuses fewer than 10 bytes', () => {
    assert.throws(() => decodeHeader(new Uint8Array(9)), ZeropodError);
  });
});

void describe('FrameDecoder', () => {
  const sample = [
    frame(1, 'first'),
    frame(3, ''),
    frame(5, new Uint8Array(300).fill(7), MessageType.Response),
    frame(7, 'x', MessageType.Data, Flag.RemoteClosed),
    frame(9, 'unknown type passes through', 0x7f, 0xff),
  ];
  const wire = Buffer.concat(sample.map((f) => encodeFrame(f)));

  void test('decodes several frames from one chunk', () => {
    const d = new FrameDecoder();
    assert.deepEqual(frames(d.push(wire)), norm(sample));
    assert.ok(d.atBoundary);
  });

  void test('decodes the same frames when the stream is split at any single byte boundary', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder();
      const out = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      assert.deepEqual(frames(out), norm(sample), `cut at ${cut}`);
      assert.ok(d.atBoundary);
    }
  });

  void test('decodes the same frames when fed one byte at a time', () => {
    const d = new FrameDecoder();
    const out: Decoded[] = [];
    for (let i = 0; i < wire.length; i++) {
      out.push(...d.push(wire.subarray(i, i + 1)));
      const complete = out.length;
      // A frame is reported exactly when its last byte arrives, not before.
      assert.equal(d.atBoundary, complete > 0 && i === boundaryAfter(complete) - 1);
    }
    assert.deepEqual(frames(out), norm(sample));
  });

  void test('decodes when split at every pair of boundaries (three chunks)', () => {
    const small = Buffer.concat([frame(1, 'ab'), frame(3, ''), frame(5, 'cde')].map((f) => encodeFrame(f)));
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const d = new FrameDecoder();
        const out = [
          ...d.push(small.subarray(0, i)),
          ...d.push(small.subarray(i, j)),
          ...d.push(small.subarray(j)),
        ];
        assert.deepEqual(
          out.map((o) => (o.kind === 'frame' ? o.frame.streamId : -1)),
          [1, 3, 5],
        );
      }
    }
  });

  void test('an empty chunk yields nothing', () => {
    assert.deepEqual(new FrameDecoder().push(new Uint8Array(0)), []);
  });

  void test('payloads do not alias the input chunk', () => {
    const bytes = encodeFrame(frame(1, 'abc'));
    const [item] = new FrameDecoder().push(bytes);
    bytes.fill(0);
    assert.equal(item?.kind === 'frame' && Buffer.from(item.frame.payload).toString(), 'abc');
  });

  void test('reports an oversize frame at its header, skips its payload, then carries on', () => {
    const d = new FrameDecoder({ maxMessageSize: 8 });
    const big = encodeFrame(frame(1, 'this payload is too long'), 1024);
    const next = encodeFrame(frame(3, 'ok'));
    // The header alone is enough to reject: nothing of the payload has arrived yet.
    const atHeader = d.push(big.subarray(0, HEADER_LENGTH));
    assert.deepEqual(atHeader, [
      { kind: 'oversize', header: { length: 24, streamId: 1, type: 1, flags: 0 } },
    ]);
    assert.ok(!d.atBoundary);
    // The rest of the payload arrives split with the next frame; it is skipped, not decoded.
    const rest = Buffer.concat([big.subarray(HEADER_LENGTH), next]);
    assert.deepEqual(
      frames([...d.push(rest.subarray(0, 5)), ...d.push(rest.subarray(5))]),
      norm([frame(3, 'ok')]),
    );
    assert.ok(d.atBoundary);
  });

  void test('never buffers an oversize payload, however large its header claims', () => {
    const d = new FrameDecoder();
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt32BE(0xffff_ffff, 0);
    header.writeUInt32BE(1, 4);
    header[8] = MessageType.Request;
    assert.equal(d.push(header)[0]?.kind, 'oversize');
    // A megabyte of the claimed payload streams through and yields nothing.
    assert.deepEqual(d.push(Buffer.alloc(1 << 20)), []);
  });

  void test('accepts a frame of exactly the default limit', () => {
    const payload = new Uint8Array(DEFAULT_MAX_MESSAGE_SIZE);
    const out = new FrameDecoder().push(encodeFrame(frame(1, payload)));
    assert.equal(out.length, 1);
    assert.equal(out[0]?.kind === 'frame' && out[0].frame.payload.length, DEFAULT_MAX_MESSAGE_SIZE);
  });

  function boundaryAfter(count: number): number {
    return sample.slice(0, count).reduce((n, f) => n + HEADER_LENGTH + f.payload.length, 0);
  }
});
