import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDirsFrom, parseCgroupMounts, parseProcCgroup } from './cgroups.ts';

// This node: controllers mounted one per directory, the environment inside the VM's cgroup.
const SINGLY = [
  '70 69 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '72 70 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '73 70 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '75 70 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '79 70 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '80 70 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '81 70 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

const PROC = [
  '9:name=systemd:/',
  '8:pids:/process_api/abc/zeropod-ts/pod1/c1',
  '4:memory:/process_api/abc/zeropod-ts/pod1/c1',
  '2:cpuacct:/process_api/abc/zeropod-ts/pod1/c1',
  '1:cpu:/process_api/abc/zeropod-ts/pod1/c1',
  '0::/',
  '',
].join('\n');

test('controllers mounted singly resolve to their own directories', () => {
  const dirs = cgroupDirsFrom(PROC, SINGLY);
  assert.equal(dirs.get('memory'), '/sys/fs/cgroup/memory/process_api/abc/zeropod-ts/pod1/c1');
  assert.equal(dirs.get('cpu'), '/sys/fs/cgroup/cpu/process_api/abc/zeropod-ts/pod1/c1');
  assert.equal(dirs.get('cpuacct'), '/sys/fs/cgroup/cpuacct/process_api/abc/zeropod-ts/pod1/c1');
  assert.equal(dirs.get('pids'), '/sys/fs/cgroup/pids/process_api/abc/zeropod-ts/pod1/c1');
  assert.equal(dirs.get('name=systemd'), '/sys/fs/cgroup/systemd');
});

test('co-mounted controllers share one directory', () => {
  const mountinfo =
    '30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct';
  const dirs = cgroupDirsFrom('3:cpu,cpuacct:/kubepods/pod1/c1\n', mountinfo);
  assert.equal(dirs.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/c1');
  assert.equal(dirs.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/c1');
});

test('a mount of a sub-tree (a cgroup namespace, a bind) maps paths relative to its root', () => {
  const mountinfo = '40 30 0:32 /kubepods /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory';
  assert.equal(
    cgroupDirsFrom('4:memory:/kubepods/pod1/c1', mountinfo).get('memory'),
    '/sys/fs/cgroup/memory/pod1/c1',
  );
  assert.equal(cgroupDirsFrom('4:memory:/elsewhere/c1', mountinfo).get('memory'), undefined);
});

test('parsers ignore the v2 line, options and other file systems', () => {
  assert.deepEqual([...parseProcCgroup(PROC).keys()], ['name=systemd', 'pids', 'memory', 'cpuacct', 'cpu']);
  assert.deepEqual(
    [...parseCgroupMounts(SINGLY).keys()],
    ['cpu', 'cpuacct', 'memory', 'pids', 'name=systemd'],
  );
});
