import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  cgroupDirForPathFrom,
  cgroupDirsFrom,
  detectCgroupVersion,
  parseCgroup2Mount,
  parseCgroupMounts,
  parseProcCgroup,
  parseProcCgroupV2,
} from './cgroups.ts';

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

// A cgroup v2 node (the VM's, and every current distribution's): one unified hierarchy.
const UNIFIED = [
  '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '25 24 0:23 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
].join('\n');

test('v2: the 0:: line under the cgroup2 mount names one directory for every controller', () => {
  const dirs = cgroupDirsFrom('0::/kubepods/besteffort/pod1/c1\n', UNIFIED, 2);
  for (const c of ['', 'memory', 'cpu', 'pids', 'io', 'freezer']) {
    assert.equal(dirs.get(c), '/sys/fs/cgroup/kubepods/besteffort/pod1/c1', c);
  }
  assert.equal(dirs.get('cpuacct'), undefined, 'v2 has no cpuacct: cpu.stat holds usage');
});

test('v2: a cgroup namespace mount maps paths relative to its root; outside it nothing is found', () => {
  const mountinfo = '30 25 0:23 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
  assert.equal(cgroupDirsFrom('0::/kubepods/pod1/c1', mountinfo, 2).get('memory'), '/sys/fs/cgroup/pod1/c1');
  assert.equal(cgroupDirsFrom('0::/system.slice/x', mountinfo, 2).size, 0);
  assert.equal(cgroupDirsFrom('0::/kubepods/pod1/c1', SINGLY.split('\n')[0]!, 2).size, 0, 'no cgroup2 mount');
});

test('v2 prefers the cgroup2 mount at /sys/fs/cgroup; v1 ignores cgroup2 (the hybrid unified mount)', () => {
  const both = `${SINGLY}\n${UNIFIED}`;
  assert.deepEqual(parseCgroup2Mount(both), { root: '/', mountPoint: '/sys/fs/cgroup' });
  assert.equal(parseProcCgroupV2(PROC), '/');
  assert.equal(cgroupDirsFrom(PROC, SINGLY, 1).get(''), undefined);
});

test('cgroupsPath as runc resolves it: absolute from the root, relative under v1 own / v2 parent', () => {
  const own1 = '4:memory:/process_api/abc\n0::/\n';
  assert.equal(
    cgroupDirForPathFrom('kubepods/pod1/c1', 'memory', own1, SINGLY, 1),
    '/sys/fs/cgroup/memory/process_api/abc/kubepods/pod1/c1',
  );
  assert.equal(
    cgroupDirForPathFrom('/k8s.io/c1', 'memory', own1, SINGLY, 1),
    '/sys/fs/cgroup/memory/k8s.io/c1',
  );
  const own2 = '0::/system.slice/containerd.service\n';
  assert.equal(
    cgroupDirForPathFrom('kubepods/pod1/c1', 'memory', own2, UNIFIED, 2),
    '/sys/fs/cgroup/system.slice/kubepods/pod1/c1',
  );
  assert.equal(cgroupDirForPathFrom('/k8s.io/c1', 'pids', own2, UNIFIED, 2), '/sys/fs/cgroup/k8s.io/c1');
});

test("a systemd cgroupsPath (slice:prefix:name) is the unit's cgroup from each hierarchy's root", () => {
  const own2 = '0::/system.slice/containerd.service\n';
  const cri = 'kubepods-besteffort-pod1f2e.slice:cri-containerd:c1';
  // v2, as kubelet's systemd driver and containerd's CRI lay a BestEffort pod out.
  assert.equal(
    cgroupDirForPathFrom(cri, 'memory', own2, UNIFIED, 2),
    '/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e.slice/cri-containerd-c1.scope',
  );
  // v1: the same path in each controller's hierarchy; our own cgroup plays no part.
  assert.equal(
    cgroupDirForPathFrom(cri, 'pids', '4:pids:/process_api/abc\n', SINGLY, 1),
    '/sys/fs/cgroup/pids/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e.slice/cri-containerd-c1.scope',
  );
  assert.equal(
    cgroupDirForPathFrom(':runc:c1', 'memory', own2, UNIFIED, 2),
    '/sys/fs/cgroup/system.slice/runc-c1.scope',
    'no slice: system.slice',
  );
  assert.equal(cgroupDirForPathFrom('bad/slice:cri:c1', 'memory', own2, UNIFIED, 2), undefined);
  assert.equal(cgroupDirForPathFrom('a--b.slice:cri:c1', 'memory', own2, UNIFIED, 2), undefined);
});

test('the version is what the cgroup root is: cgroup2fs is v2, anything else v1', () => {
  assert.equal(detectCgroupVersion('/'), 1, 'not a cgroup2 file system');
  assert.equal(detectCgroupVersion('/nonexistent-cgroup-root'), 1);
  const here = detectCgroupVersion();
  assert.equal(here, existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1);
});
