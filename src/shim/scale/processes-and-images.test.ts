import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameCgroups } from './processes-and-images.ts';

void test('sameCgroups: true only for processes that all share one cgroup set', () => {
  assert.equal(sameCgroups([process.pid, process.pid]), true);
  assert.equal(sameCgroups([]), false, 'nothing to compare is not "the same"');
  assert.equal(sameCgroups([process.pid, 2 ** 22 + 7]), false, 'a process gone mid-look: do not guess');
});
