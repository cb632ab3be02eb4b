import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PtyWriter } from './pty-writer.ts';

/** A fake master that takes at most `room` bytes until `room` is raised again. */
function fakeMaster(room: number) {
  const state = { room, got: '' };
  const writeSome = (d: Buffer) => {
    const n = Math.min(state.room, d.length);
    state.got += d.subarray(0, n).toString();
    state.room -= n;
    return n;
  };
  return { state, writeSome };
}

test('data the master takes at once is written at once', () => {
  const m = fakeMaster(100);
  const w = new PtyWriter(m.writeSome);
  assert.equal(w.write(Buffer.from('hello')), true);
  assert.equal(m.state.got, 'hello');
});

test('a full master keeps the rest, in order, and drains when room appears', async () => {
  const m = fakeMaster(3);
  const w = new PtyWriter(m.writeSome, 1);
  let drained = 0;
  w.onDrain = () => drained++;
  assert.equal(w.write(Buffer.from('abcdef')), false);
  assert.equal(w.write(Buffer.from('gh')), false);
  assert.equal(m.state.got, 'abc');
  assert.equal(w.pending, 5);
  m.state.room = 100;
  for (let i = 0; i < 100 && w.pending > 0; i++) await sleep(2);
  assert.equal(m.state.got, 'abcdefgh');
  assert.ok(drained >= 1);
  w.close();
});

test('a write error closes the writer and is reported once', () => {
  const w = new PtyWriter(() => {
    throw new Error('EIO');
  });
  const errors: unknown[] = [];
  w.onError = (e) => errors.push(e);
  assert.equal(w.write(Buffer.from('x')), false);
  assert.equal(w.write(Buffer.from('y')), false);
  assert.equal(errors.length, 1);
});
