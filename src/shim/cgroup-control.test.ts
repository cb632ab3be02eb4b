import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFrozen, reclaimMemory, setFrozen } from './cgroup-control.ts';

// The files' forms per version; the kernel's behaviour behind them is checked in
// test/integration/cgroup-control.test.ts (v1 in the node environment, v2 in the VM).
function dir(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'cgroup-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(d, f), text);
  return d;
}

test('v1 freezes through freezer.state, v2 through cgroup.freeze', (t) => {
  const v1 = dir(t, { 'freezer.state': 'THAWED\n' });
  setFrozen(v1, true, 1);
  assert.equal(readFileSync(path.join(v1, 'freezer.state'), 'utf8'), 'FROZEN');
  assert.equal(isFrozen(v1, 1), true);
  setFrozen(v1, false, 1);
  assert.equal(isFrozen(v1, 1), false);

  const v2 = dir(t, { 'cgroup.freeze': '0\n', 'cgroup.events': 'populated 1\nfrozen 0\n' });
  setFrozen(v2, true, 2);
  assert.equal(readFileSync(path.join(v2, 'cgroup.freeze'), 'utf8'), '1');
  assert.equal(isFrozen(v2, 2), false, 'frozen only once the kernel says so in cgroup.events');
  writeFileSync(path.join(v2, 'cgroup.events'), 'populated 1\nfrozen 1\n');
  assert.equal(isFrozen(v2, 2), true);
});

test('a directory of the other version has no such file: the write fails and says which', (t) => {
  const v2 = dir(t, { 'cgroup.events': 'populated 0\nfrozen 0\n' });
  assert.throws(() => setFrozen(path.join(v2, 'gone'), false, 1), /freezer\.state/);
  assert.throws(() => isFrozen(path.join(v2, 'gone'), 2), /cgroup\.events/);
});

test('reclaim: v1 force_empty, v2 memory.reclaim of what is charged (nothing when nothing is)', (t) => {
  const v1 = dir(t, { 'memory.force_empty': '' });
  reclaimMemory(v1, 1);
  assert.equal(readFileSync(path.join(v1, 'memory.force_empty'), 'utf8'), '0');
  const v2 = dir(t, { 'memory.current': '8392704\n', 'memory.reclaim': '' });
  reclaimMemory(v2, 2);
  assert.equal(readFileSync(path.join(v2, 'memory.reclaim'), 'utf8'), '8392704');
  writeFileSync(path.join(v2, 'memory.current'), '0\n');
  writeFileSync(path.join(v2, 'memory.reclaim'), 'untouched');
  reclaimMemory(v2, 2);
  assert.equal(readFileSync(path.join(v2, 'memory.reclaim'), 'utf8'), 'untouched');
});
