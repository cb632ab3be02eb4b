import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { criuAtLeast, criuCheck, criuVersion, parseCriuVersion } from './criu-check.ts';

void test('parseCriuVersion', () => {
  assert.deepEqual(parseCriuVersion('Version: 4.2.1\n'), {
    major: 4,
    minor: 2,
    patch: 1,
    text: 'Version: 4.2.1',
  });
  assert.deepEqual(parseCriuVersion('Version: 3.17\nGitID: v3.17\n').patch, 0);
  assert.throws(() => parseCriuVersion('criu: command not found'), ZeropodError);
});

void test('criuAtLeast', () => {
  const v = parseCriuVersion('Version: 4.2.1');
  assert.ok(criuAtLeast(v, 4, 2));
  assert.ok(criuAtLeast(v, 4, 2, 1));
  assert.ok(!criuAtLeast(v, 4, 2, 2));
  assert.ok(!criuAtLeast(v, 4, 3));
  assert.ok(criuAtLeast(v, 3, 99));
});

async function withFakeCriu(script: string, fn: (binary: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'zp-fake-criu-'));
  try {
    const binary = join(dir, 'criu');
    await writeFile(binary, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    await fn(binary);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('criuCheck: "Looks good." passes, anything else is FailedPrecondition with CRIU\'s words', async () => {
  await withFakeCriu('echo "Looks good."', async (binary) => {
    assert.equal(await criuCheck({ binary }), 'Looks good.');
  });
  await withFakeCriu('echo "Error (criu/cr-check.c:1): vdso: bad" >&2; exit 1', async (binary) => {
    await assert.rejects(
      criuCheck({ binary }),
      (e: unknown) =>
        e instanceof ZeropodError && e.code === ErrorCode.FailedPrecondition && /vdso: bad/.test(e.message),
    );
  });
  await withFakeCriu('echo "Version: 4.2.1"', async (binary) => {
    assert.equal((await criuVersion({ binary })).minor, 2);
  });
});
