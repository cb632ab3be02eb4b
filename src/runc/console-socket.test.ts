/**
 * ConsoleSocket with a real sender: a Python script doing what runc does (connect, sendmsg with
 * SCM_RIGHTS, the pty name as data). The real runc + pty path is in test/integration/runc.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, readSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { ConsoleSocket, controlFds } from './console-socket.ts';

const SENDER = `
import socket, sys, time
path, file, delay, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
time.sleep(delay)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
if mode == 'fd':
    with open(file, 'rb') as f:
        socket.send_fds(s, [b'/dev/ptmx'], [f.fileno()])
elif mode == 'nofd':
    s.sendall(b'/dev/ptmx')
s.close()
`;

function send(
  path: string,
  file: string,
  delaySeconds: number,
  mode: 'fd' | 'nofd' | 'close',
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', SENDER, path, file, String(delaySeconds), mode], (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

async function withFile<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'zp-cs-test-'));
  try {
    const file = join(dir, 'payload');
    await writeFile(file, 'hello through SCM_RIGHTS');
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function readAll(fd: number): string {
  const buf = Buffer.alloc(256);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n).toString();
}

void test('receives the fd a peer sends (peer already done before we look)', async () => {
  await withFile(async (file) => {
    const cs = await ConsoleSocket.create();
    try {
      await send(cs.path, file, 0, 'fd');
      const fd = await cs.receiveMaster();
      try {
        assert.equal(readAll(fd), 'hello through SCM_RIGHTS');
      } finally {
        closeSync(fd);
      }
    } finally {
      await cs.dispose();
    }
    assert.equal(existsSync(dirname(cs.path)), false, 'the temp dir is gone');
  });
});

void test('waits for a peer that connects later', async () => {
  await withFile(async (file) => {
    await using cs = await ConsoleSocket.create();
    const sender = send(cs.path, file, 0.3, 'fd');
    const started = performance.now();
    const fd = await cs.receiveMaster(AbortSignal.timeout(5000));
    const waited = performance.now() - started;
    assert.ok(waited > 200, `waited ${waited} ms`);
    assert.equal(readAll(fd), 'hello through SCM_RIGHTS');
    closeSync(fd);
    await sender;
  });
});

void test('an abort while nobody connects rejects within a poll slice', async () => {
  await using cs = await ConsoleSocket.create();
  const started = performance.now();
  await assert.rejects(
    cs.receiveMaster(AbortSignal.timeout(150)),
    (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.DeadlineExceeded,
  );
  assert.ok(performance.now() - started < 1000);
});

void test('a peer that sends no fd, or nothing, is an error', async () => {
  await withFile(async (file) => {
    for (const mode of ['nofd', 'close'] as const) {
      await using cs = await ConsoleSocket.create();
      await send(cs.path, file, 0, mode);
      await assert.rejects(
        cs.receiveMaster(AbortSignal.timeout(5000)),
        (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.Internal,
      );
    }
  });
});

void test('a socket path past the 108-byte limit is InvalidArgument and leaves nothing behind', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'zp-cs-long-'));
  try {
    const deep = join(parent, 'y'.repeat(100));
    await mkdir(deep);
    await assert.rejects(
      ConsoleSocket.create({ dir: deep }),
      (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.InvalidArgument,
    );
    assert.deepEqual(await readdir(deep), []);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

void test('controlFds decodes SCM_RIGHTS control messages', () => {
  const cmsg = Buffer.alloc(24);
  cmsg.writeBigUInt64LE(24n, 0); // CMSG_LEN(2 * sizeof(int))
  cmsg.writeInt32LE(1, 8); // SOL_SOCKET
  cmsg.writeInt32LE(1, 12); // SCM_RIGHTS
  cmsg.writeInt32LE(7, 16);
  cmsg.writeInt32LE(9, 20);
  assert.deepEqual(controlFds(cmsg), [7, 9]);
  assert.deepEqual(controlFds(Buffer.alloc(0)), []);
  const other = Buffer.from(cmsg);
  other.writeInt32LE(2, 12); // SCM_CREDENTIALS
  assert.deepEqual(controlFds(other), []);
});
