import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2MountOf, isKubelet, nftCgroupOf, unifiedPathOf } from './kubelet-cgroup.ts';

test('kubelet by its name or binary, and k3s that embeds it', () => {
  assert.ok(isKubelet('kubelet', '/usr/bin/kubelet'));
  assert.ok(isKubelet('kubelet', '/var/lib/rancher/rke2/data/v1/bin/kubelet (deleted)'));
  assert.ok(isKubelet('k3s-agent', '/var/lib/rancher/k3s/data/abc/bin/k3s'));
  assert.ok(isKubelet('k3s-server', ''));
  assert.ok(!isKubelet('kube-proxy', '/usr/bin/kube-proxy'));
  assert.ok(!isKubelet('containerd', '/usr/bin/containerd'));
});

test('the cgroup v2 path of a hybrid host and of a v2 host', () => {
  const hybrid =
    '12:memory:/system.slice/kubelet.service\n1:name=systemd:/system.slice/kubelet.service\n0::/system.slice/kubelet.service\n';
  assert.equal(unifiedPathOf(hybrid), '/system.slice/kubelet.service');
  assert.equal(unifiedPathOf('0::/\n'), '/');
  assert.equal(unifiedPathOf('4:cpu:/x\n'), undefined);
});

test('where cgroup2 is mounted', () => {
  const mi =
    '30 24 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n' +
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n';
  assert.equal(cgroup2MountOf(mi), '/sys/fs/cgroup/unified');
  assert.equal(
    cgroup2MountOf('31 30 0:27 / /sys/fs/cgroup rw shared:10 - cgroup2 cgroup2 rw\n'),
    '/sys/fs/cgroup',
  );
  assert.equal(cgroup2MountOf('30 24 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n'), undefined);
});

test('what nft is given: the path under /sys/fs/cgroup and the depth', () => {
  assert.deepEqual(nftCgroupOf('/system.slice/kubelet.service', '/sys/fs/cgroup'), {
    nftPath: 'system.slice/kubelet.service',
    level: 2,
  });
  assert.deepEqual(nftCgroupOf('/zeropod-ts/kubelet-15/kubelet.service', '/sys/fs/cgroup/unified'), {
    nftPath: 'unified/zeropod-ts/kubelet-15/kubelet.service',
    level: 3,
  });
  assert.ok('reason' in nftCgroupOf('/', '/sys/fs/cgroup'));
  assert.ok('reason' in nftCgroupOf('/a', '/mnt/cgroup2'));
});
