import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ZeropodError } from '../../base/index.ts';
import type { ShimFlags } from '../flags.ts';
import { leftoversOf, removeLeftovers } from './leftovers.ts';

void test("removeLeftovers: this task's helpers, work directory and image go; a neighbour's stay", async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-leftovers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dirs = (id: string) => ({
    id,
    imagePath: path.join(root, 'images', id),
    workPath: path.join(root, 'work', id),
  });
  const mine = dirs('abc');
  const neighbour = dirs('abcd'); // same prefix: must not be touched
  for (const d of [mine, neighbour]) {
    for (const p of [d.imagePath, d.workPath]) {
      mkdirSync(p, { recursive: true });
      writeFileSync(path.join(p, 'f'), 'x');
    }
  }
  // Stand-ins for the lazy-pages daemon and the restore waiter: named by their work directory.
  const helper = (d: { workPath: string }) =>
    spawn('/bin/sh', ['-c', 'sleep 60; true', 'criu', '--work-dir', d.workPath], { stdio: 'ignore' });
  const a = helper(mine);
  const b = helper(neighbour);
  t.after(() => {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  });
  await Promise.all([once(a, 'spawn'), once(b, 'spawn')]);
  const aExit = once(a, 'exit');
  const warnings: string[] = [];
  await removeLeftovers(mine, (m) => warnings.push(m));
  assert.deepEqual(warnings, []);
  assert.deepEqual(await aExit, [null, 'SIGKILL']);
  assert.equal(b.exitCode, null, "the neighbour's helper runs on");
  assert.equal(b.signalCode, null);
  assert.equal(existsSync(mine.imagePath), false);
  assert.equal(existsSync(mine.workPath), false);
  assert.ok(existsSync(path.join(neighbour.imagePath, 'f')));
  assert.ok(existsSync(path.join(neighbour.workPath, 'f')));
});

void test('leftoversOf refuses an id that is not one path component, naming the flag', () => {
  for (const id of ['..', '../x', 'a/b', '']) {
    assert.throws(
      () => leftoversOf({ id, namespace: 'k8s.io', bundle: '/nonexistent' } as ShimFlags),
      (e: unknown) => e instanceof ZeropodError && e.code === 'InvalidArgument' && /^-id /.test(e.message),
    );
  }
  const l = leftoversOf({ id: 'abc', namespace: 'k8s.io', bundle: '/nonexistent' } as ShimFlags);
  assert.equal(l.imagePath, '/var/lib/zeropod-ts/images/k8s.io/abc');
  assert.equal(l.workPath, '/run/zeropod/work/abc');
  assert.equal(l.netnsPath, undefined);
});
