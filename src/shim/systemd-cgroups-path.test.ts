import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandSlice,
  isSystemdCgroupsPath,
  parseSystemdCgroupsPath,
  systemdCgroupPath,
  unitName,
} from './systemd-cgroups-path.ts';

void test('slices spell their ancestry', () => {
  assert.equal(expandSlice('system.slice'), '/system.slice');
  assert.equal(expandSlice('kubepods.slice'), '/kubepods.slice');
  assert.equal(
    expandSlice('kubepods-burstable-podab12.slice'),
    '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab12.slice',
  );
  assert.equal(expandSlice('-.slice'), '/', 'the root slice');
  for (const bad of ['kubepods', 'a/b.slice', 'a--b.slice', '-a.slice', 'a-.slice', '.slice'])
    assert.equal(expandSlice(bad), undefined, bad);
});

void test('slice:prefix:name: three parts, a name; the unit is a scope unless the name is a slice', () => {
  assert.equal(isSystemdCgroupsPath('kubepods.slice:cri-containerd:abc'), true);
  assert.equal(isSystemdCgroupsPath('/kubepods/pod1/abc'), false);
  assert.equal(isSystemdCgroupsPath('a:b'), false);
  assert.deepEqual(parseSystemdCgroupsPath('kubepods.slice:cri-containerd:abc'), {
    slice: 'kubepods.slice',
    prefix: 'cri-containerd',
    name: 'abc',
  });
  assert.equal(parseSystemdCgroupsPath('kubepods.slice:cri-containerd:'), undefined);
  assert.equal(unitName({ slice: '', prefix: 'cri-containerd', name: 'abc' }), 'cri-containerd-abc.scope');
  assert.equal(unitName({ slice: '', prefix: 'x', name: 'my-app.slice' }), 'my-app.slice');
});

void test("the unit's cgroup path from the root", () => {
  assert.equal(
    systemdCgroupPath('kubepods-besteffort-pod1.slice:cri-containerd:abc'),
    '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope',
  );
  assert.equal(systemdCgroupPath('system.slice:docker:abc'), '/system.slice/docker-abc.scope');
  assert.equal(systemdCgroupPath(':runc:abc'), '/system.slice/runc-abc.scope', 'empty slice: system.slice');
  assert.equal(systemdCgroupPath('-.slice:runc:abc'), '/runc-abc.scope', 'the root slice');
  assert.equal(systemdCgroupPath('/kubepods/pod1/abc'), undefined);
  assert.equal(systemdCgroupPath('kubepods:cri-containerd:abc'), undefined, 'a slice must say .slice');
});
