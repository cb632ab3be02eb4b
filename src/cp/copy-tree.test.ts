import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { copyTree } from './copy-tree.ts';

void test('copyTree copies a tree into an existing directory, and names the failure', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-cp-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const from = path.join(root, 'from');
  const to = path.join(root, 'to');
  mkdirSync(path.join(from, 'sub'), { recursive: true });
  mkdirSync(to);
  writeFileSync(path.join(from, 'sub', 'a'), 'A');
  await copyTree(from, to);
  assert.equal(readFileSync(path.join(to, 'sub', 'a'), 'utf8'), 'A');
  await assert.rejects(copyTree(path.join(root, 'missing'), to), (err: Error) => {
    assert.match(err.message, /missing/);
    return true;
  });
});
