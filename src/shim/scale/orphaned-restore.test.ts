import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inContainerCgroups } from './orphaned-restore.ts';

const paths = {
  freezer: '/sys/fs/cgroup/freezer/kubepods/besteffort/podA/abc',
  memory: '/sys/fs/cgroup/memory/kubepods/besteffort/podA/abc',
  '': '/sys/fs/cgroup/unified/kubepods/besteffort/podA/abc',
};

void test('inContainerCgroups: a process in the container cgroups, on v1 and the unified line', () => {
  const proc = [
    '12:freezer:/kubepods/besteffort/podA/abc',
    '5:memory:/kubepods/besteffort/podA/abc',
    '0::/kubepods/besteffort/podA/abc',
    '',
  ].join('\n');
  assert.equal(inContainerCgroups(proc, paths), true);
});

void test('inContainerCgroups: a process elsewhere (a reused pid) is not the restored app', () => {
  const proc = ['12:freezer:/', '5:memory:/system.slice/other', '0::/'].join('\n');
  assert.equal(inContainerCgroups(proc, paths), false);
  const sibling = [
    '12:freezer:/kubepods/besteffort/podA/other',
    '5:memory:/kubepods/besteffort/podA/abc',
  ].join('\n');
  assert.equal(inContainerCgroups(sibling, paths), false);
});

void test('inContainerCgroups: nothing in common is no match', () => {
  assert.equal(inContainerCgroups('12:freezer:/', paths), false);
  assert.equal(inContainerCgroups('12:freezer:/kubepods/besteffort/podA/abc', {}), false);
});
