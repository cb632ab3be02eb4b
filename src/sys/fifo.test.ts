import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { codeOf } from '../base/index.ts';
import { openFifo } from './fifo.ts';

function fifoDir(t: { after: (fn: () => void) => void }): (name: string) => string {
  const dir = mkdtempSync(path.join(tmpdir(), 'zeropod-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return (name) => {
    const p = path.join(dir, name);
    execFileSync('mkfifo', [p]);
    return p;
  };
}

async function readAll(s: Socket): Promise<string> {
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  await once(s, 'end');
  return text;
}

void test(
  'a reader opens at once without a writer, then reads until the writer closes',
  { timeout: 5000 },
  async (t) => {
    const fifo = fifoDir(t)('stdout');
    const started = performance.now();
    const reader = await openFifo(fifo, 'r');
    assert.ok(performance.now() - started < 500, 'open did not wait for a writer');
    const text = readAll(reader);
    const writer = await openFifo(fifo, 'w');
    writer.write('hello ');
    writer.end('world');
    assert.equal(await text, 'hello world');
    reader.destroy();
  },
);

void test('a writer waits for a reader, then opens', { timeout: 5000 }, async (t) => {
  const fifo = fifoDir(t)('stdin');
  let opened = false;
  const writerP = openFifo(fifo, 'w').then((w) => ((opened = true), w));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(opened, false, 'no reader yet');
  const reader = await openFifo(fifo, 'r');
  const writer = await writerP;
  const text = readAll(reader);
  writer.end('ping');
  assert.equal(await text, 'ping');
  reader.destroy();
});

void test('waiting for a reader ends with Canceled when the signal aborts', { timeout: 5000 }, async (t) => {
  const fifo = fifoDir(t)('lonely');
  const started = performance.now();
  await assert.rejects(
    openFifo(fifo, 'w', AbortSignal.timeout(80)),
    (err: unknown) => codeOf(err) === 'Canceled',
  );
  const took = performance.now() - started;
  assert.ok(took >= 70 && took < 1000, `aborted after ${took} ms`);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(openFifo(fifo, 'r', ac.signal), (err: unknown) => codeOf(err) === 'Canceled');
});

void test('missing path is NotFound, a regular file is InvalidArgument', async (t) => {
  const fifo = fifoDir(t)('x');
  await assert.rejects(openFifo(fifo + '-missing', 'r'), (err: unknown) => codeOf(err) === 'NotFound');
  const file = fifo + '.txt';
  writeFileSync(file, 'x');
  await assert.rejects(openFifo(file, 'r'), (err: unknown) => codeOf(err) === 'InvalidArgument');
});
