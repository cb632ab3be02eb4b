import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fifoLogSink } from './log-sink.ts';

function readAvailable(fd: number): string {
  const buf = Buffer.alloc(4096);
  try {
    return buf.subarray(0, readSync(fd, buf)).toString();
  } catch {
    return ''; // EAGAIN: nothing there
  }
}

async function readEventually(fd: number, want: string): Promise<string> {
  let got = '';
  for (let i = 0; i < 200 && !got.includes(want); i++) {
    got += readAvailable(fd);
    if (!got.includes(want)) await sleep(5);
  }
  return got;
}

test('lines reach a reader that comes back after going away', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zp-log-'));
  const fifo = path.join(dir, 'log');
  execFileSync('mkfifo', [fifo]);
  let clock = 0;
  const fallback: string[] = [];
  try {
    let reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const sink = fifoLogSink(fifo, { retryMs: 1000, now: () => clock, fallback: (l) => fallback.push(l) });
    sink('one\n');
    assert.equal(await readEventually(reader, 'one\n'), 'one\n');
    closeSync(reader); // containerd stops
    sink('lost\n'); // EPIPE: the sink lets go of its end
    await sleep(20);
    reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // containerd is back
    clock += 1000;
    sink('two\n');
    assert.equal(await readEventually(reader, 'two\n'), 'two\n');
    closeSync(reader);
    assert.deepEqual(fallback, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the FIFO, lines go to the fallback', () => {
  const got: string[] = [];
  const sink = fifoLogSink('/nonexistent/zp-log', { fallback: (l) => got.push(l) });
  sink('x\n');
  assert.deepEqual(got, ['x\n']);
});
