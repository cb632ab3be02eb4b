import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readSync, writeSync } from 'node:fs';
import { ZeropodError } from '../base/index.ts';
import { close, decodeSiginfo, getpid, pidfdOpen, SIGINFO_SIZE, waitPidfd } from './libc.ts';
import { pipe } from './pipe.ts';

function siginfo(code: number, pid: number, status: number): Buffer {
  const b = Buffer.alloc(SIGINFO_SIZE);
  b.writeInt32LE(17, 0);
  b.writeInt32LE(code, 8);
  b.writeInt32LE(pid, 16);
  b.writeInt32LE(status, 24);
  return b;
}

void test('decodeSiginfo: exited, killed, dumped, nothing', () => {
  assert.deepEqual(decodeSiginfo(siginfo(1, 10, 3)), { pid: 10, exitCode: 3 });
  assert.deepEqual(decodeSiginfo(siginfo(2, 11, 9)), { pid: 11, exitCode: 137, signal: 9 });
  assert.deepEqual(decodeSiginfo(siginfo(3, 12, 6)), { pid: 12, exitCode: 134, signal: 6 });
  assert.equal(decodeSiginfo(Buffer.alloc(SIGINFO_SIZE)), undefined);
  assert.throws(() => decodeSiginfo(siginfo(5, 13, 0)), /unexpected si_code 5/);
});

void test('getpid through koffi matches process.pid', () => {
  assert.equal(getpid(), process.pid);
});

void test('failed calls become ZeropodErrors with errno details', () => {
  assert.throws(
    () => close(-1),
    (err: unknown) =>
      err instanceof ZeropodError &&
      err.details['errnoName'] === 'EBADF' &&
      err.details['syscall'] === 'close',
  );
});

void test('pidfd of a reaped child: ESRCH as NotFound; a parent is not our child: ECHILD', async () => {
  const child = spawn('true');
  await once(child, 'exit');
  assert.throws(
    () => pidfdOpen(child.pid ?? 0),
    (err: unknown) => err instanceof ZeropodError && err.code === 'NotFound',
  );
  const fd = pidfdOpen(process.ppid);
  try {
    assert.throws(
      () => waitPidfd(fd),
      (err: unknown) => err instanceof ZeropodError && err.details['errnoName'] === 'ECHILD',
    );
  } finally {
    close(fd);
  }
});

void test('pipe2 gives a connected, close-on-exec pair', () => {
  const [r, w] = pipe();
  try {
    for (const fd of [r, w]) {
      const flags = /flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0';
      assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `fd ${fd} is close-on-exec`);
    }
    assert.equal(writeSync(w, 'abc'), 3);
    const buf = Buffer.alloc(8);
    assert.equal(buf.toString('utf8', 0, readSync(r, buf)), 'abc');
  } finally {
    close(r);
    close(w);
  }
});
