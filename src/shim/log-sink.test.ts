import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fifoLogSink } from './log-sink.ts';

function readAvailable(fd: number): string {
  const buf = Buffer.alloc(65536);
  try {
    return buf.subarray(0, readSync(fd, buf)).toString();
  } catch {
    return ''; // EAGAIN: nothing there
  }
}

async function readEventually(fd: number, want: string): Promise<string> {
  let got = '';
  for (let i = 0; i < 400 && !got.includes(want); i++) {
    got += readAvailable(fd);
    if (!got.includes(want)) await sleep(5);
  }
  return got;
}

test('lines written while the reader is away reach it when it comes back', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zp-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'log');
  execFileSync('mkfifo', [fifo]);
  const fallback: string[] = [];
  let reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const sink = fifoLogSink(fifo, { retryMs: 10, fallback: (l) => fallback.push(l) });
  sink('one\n');
  assert.equal(await readEventually(reader, 'one\n'), 'one\n');
  closeSync(reader); // containerd stops
  sink('epipe\n'); // this write fails (EPIPE): the sink lets go of its end
  await sleep(30);
  sink('while-away\n');
  await sleep(30);
  reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // containerd is back
  sink('after\n');
  const got = await readEventually(reader, 'after\n');
  closeSync(reader);
  assert.match(got, /while-away\n(.|\n)*after\n/);
  assert.deepEqual(fallback, []);
});

test('a sink started with nobody reading keeps its lines until someone does', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zp-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'log');
  execFileSync('mkfifo', [fifo]);
  const sink = fifoLogSink(fifo, { retryMs: 10 });
  sink('early\n');
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const got = await readEventually(reader, 'early\n');
  closeSync(reader);
  assert.equal(got, 'early\n');
});

test('without the FIFO, lines go to the fallback', () => {
  const got: string[] = [];
  const sink = fifoLogSink('/nonexistent/zp-log', { fallback: (l) => got.push(l) });
  sink('x\n');
  assert.deepEqual(got, ['x\n']);
});
