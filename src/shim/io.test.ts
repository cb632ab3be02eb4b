import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../base/index.ts';
import { fileUri, ProcessIO } from './io.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'zp-io-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function readAvailable(fd: number): string {
  const buf = Buffer.alloc(65536);
  try {
    return buf.subarray(0, readSync(fd, buf)).toString();
  } catch {
    return ''; // EAGAIN: nothing there
  }
}

async function readUntil(fd: number, want: string): Promise<string> {
  let got = '';
  for (let i = 0; i < 400 && !got.includes(want); i++) {
    got += readAvailable(fd);
    if (!got.includes(want)) await sleep(5);
  }
  return got;
}

test('stdio URIs: plain paths are FIFOs, file:// is a file, binary:// is refused', () => {
  assert.equal(fileUri('/run/containerd/x/stdout'), undefined);
  assert.equal(fileUri('file:///var/log/a%20b.log'), '/var/log/a b.log');
  assert.throws(() => fileUri('binary:///usr/bin/logger?x=1'), { code: 'Unimplemented' });
  assert.throws(() => fileUri('gopher://x'), { code: 'InvalidArgument' });
});

test('file:// output: stdout and stderr are appended to the file', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'logs', 'c.log');
  const io = await ProcessIO.open(
    { stdin: '', stdout: `file://${file}`, stderr: `file://${file}` },
    silentLogger,
  );
  const { stdout, stderr } = io.childStdio;
  assert.ok(stdout !== undefined && stderr !== undefined);
  writeSync(stdout, 'out\n');
  writeSync(stderr, 'err\n');
  io.releaseChildFds(); // the "container" exits: EOF on both pipes
  await io.drained;
  await io.dispose();
  assert.deepEqual(readFileSync(file, 'utf8').split('\n').filter(Boolean).sort(), ['err', 'out']);
});

test('FIFO output survives its reader going away and coming back (a containerd restart)', async (t) => {
  const dir = tempDir(t);
  const fifo = path.join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  let reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const io = await ProcessIO.open({ stdin: '', stdout: fifo, stderr: '' }, silentLogger);
  const out = io.childStdio.stdout!;
  try {
    writeSync(out, 'before\n');
    assert.match(await readUntil(reader, 'before\n'), /before\n/);
    closeSync(reader); // containerd goes away
    writeSync(out, 'while-away\n'); // no EPIPE: the shim holds a read end
    await sleep(20);
    reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // the new containerd
    writeSync(out, 'after\n');
    const got = await readUntil(reader, 'after\n');
    assert.equal(got, 'while-away\nafter\n');
  } finally {
    io.releaseChildFds();
    await io.drained;
    await io.dispose();
    closeSync(reader);
  }
});
