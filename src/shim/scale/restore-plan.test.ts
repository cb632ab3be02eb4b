import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuncStateFile } from '../../runc/index.ts';
import { cgroupV1Binds, externalNsKey, planRestore, unsupportedReason } from './restore-plan.ts';

const ROOTFS = '/run/c/rootfs';
const mountinfo = [
  '30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  '33 25 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd',
].join('\n');
const selfCgroup = ['5:memory:/shim', '4:cpu,cpuacct:/shim', '1:name=systemd:/', '0::/shim'].join('\n');

function state(patch: Partial<RuncStateFile['config']> = {}): RuncStateFile {
  return {
    id: 'c1',
    init_process_pid: 40,
    init_process_start: 100,
    created: '2026-01-01T00:00:00Z',
    cgroup_paths: {
      memory: '/sys/fs/cgroup/memory/pod/c1',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/pod/c1',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/pod/c1',
    },
    config: {
      rootfs: ROOTFS,
      mounts: [
        { source: 'proc', destination: '/proc', device: 'proc' },
        { source: 'tmpfs', destination: '/dev', device: 'tmpfs' },
        { source: 'cgroup', destination: '/sys/fs/cgroup', device: 'cgroup' },
        { source: '/sandbox/hosts', destination: '/etc/hosts', device: 'bind' },
        { source: '/sandbox/shm', destination: `${ROOTFS}/dev/shm`, device: 'bind' },
      ],
      devices: [{ path: '/dev/null' }],
      namespaces: [
        { type: 'NEWPID', path: '' },
        { type: 'NEWIPC', path: '/proc/9/ns/ipc' },
        { type: 'NEWNET', path: '/proc/9/ns/net' },
        { type: 'NEWNS', path: '' },
      ],
      mask_paths: ['/proc/kcore'],
      Hooks: { prestart: null },
      ...patch,
    },
  };
}

void test('mirrors runc restore: binds, cgroup v1 binds from our own cgroup, masked paths, devices (once each)', () => {
  const plan = planRestore(state(), ['/dev/null', 'pipe:[11]', 'pipe:[12]'], {
    cgroup: selfCgroup,
    mountinfo,
  });
  assert.equal(plan.rootfs, ROOTFS);
  assert.deepEqual(plan.extMounts, [
    { key: '/sys/fs/cgroup/memory', value: '/sys/fs/cgroup/memory/shim' },
    { key: '/sys/fs/cgroup/cpu,cpuacct', value: '/sys/fs/cgroup/cpu,cpuacct/shim' },
    { key: '/sys/fs/cgroup/systemd', value: '/sys/fs/cgroup/systemd' },
    { key: '/etc/hosts', value: '/sandbox/hosts' },
    { key: '/dev/shm', value: '/sandbox/shm' },
    { key: '/dev/null', value: '/dev/null' },
  ]);
  assert.deepEqual(plan.joinNs, [{ ns: 'ipc', file: '/proc/9/ns/ipc' }]);
  assert.deepEqual(plan.externalNs, [{ key: 'extRootNetNS', path: '/proc/9/ns/net' }]);
  assert.deepEqual(plan.stdioKeys, [
    { fd: 1, key: 'pipe:[11]' },
    { fd: 2, key: 'pipe:[12]' },
  ]);
  assert.deepEqual(plan.cgroupDirs, ['/sys/fs/cgroup/memory/pod/c1', '/sys/fs/cgroup/cpu,cpuacct/pod/c1']);
});

void test('cgroup v1 binds skip hierarchies we are not in, and each mount once', () => {
  assert.deepEqual(cgroupV1Binds('/sys/fs/cgroup', '5:memory:/a/b', mountinfo), [
    { key: '/sys/fs/cgroup/memory', value: '/sys/fs/cgroup/memory/a/b' },
  ]);
});

void test("external namespace keys are runc's", () => {
  assert.equal(externalNsKey('net'), 'extRootNetNS');
  assert.equal(externalNsKey('pid'), 'extRootPidNS');
});

void test('containers the plan cannot cover go through runc, with the reason', () => {
  assert.equal(unsupportedReason(state(), false), undefined);
  assert.match(unsupportedReason(state(), true) ?? '', /terminal/);
  assert.match(unsupportedReason(state({ Hooks: { prestart: [{ path: '/x' }] } }), false) ?? '', /hooks/);
  assert.match(
    unsupportedReason(state({ namespaces: [{ type: 'NEWUSER', path: '' }] }), false) ?? '',
    /user namespace/,
  );
  assert.match(unsupportedReason({ ...state(), cgroup_paths: {} }, false) ?? '', /cgroup paths/);
});
