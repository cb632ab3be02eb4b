import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuncStateFile } from '../../runc/index.ts';
import {
  dumpExternals,
  restoreExternals,
  tmpfsCopiesIn,
  tmpfsMountpoints,
  tmpfsOptions,
} from './tmpfs-copies.ts';

const mountinfo = [
  '600 599 0:80 / / rw,relatime - overlay overlay rw,lowerdir=/l',
  '601 600 0:82 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64',
  '602 601 0:83 / /dev/pts rw - devpts devpts rw,gid=5,mode=620',
  '603 600 0:84 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755',
  '604 601 0:85 / /dev/mqueue rw - mqueue mqueue rw',
].join('\n');

void test('tmpfs superblock options, without rw/ro; nothing for another filesystem', () => {
  assert.equal(tmpfsOptions(mountinfo, '/dev'), 'size=65536k,mode=755,inode64');
  assert.equal(tmpfsOptions(mountinfo, '/sys/fs/cgroup'), 'mode=755');
  assert.equal(tmpfsOptions(mountinfo, '/dev/mqueue'), undefined);
  assert.equal(tmpfsOptions(mountinfo, '/nowhere'), undefined);
});

void test('the tmpfs mount points of a runc container, relative to its root', () => {
  const state = {
    config: {
      rootfs: '/r',
      namespaces: [],
      mounts: [
        { source: 'proc', destination: '/proc', device: 'proc' },
        { source: 'tmpfs', destination: '/dev', device: 'tmpfs' },
        { source: 'shm', destination: '/r/dev/shm', device: 'tmpfs' },
        { source: '/h', destination: '/etc/hosts', device: 'bind' },
      ],
    },
  } as unknown as RuncStateFile;
  assert.deepEqual(tmpfsMountpoints(state), ['/dev', '/dev/shm']);
});

void test('the dump names each tmpfs external by its key; the restore binds the key from the copy', () => {
  const copies = [{ mountpoint: '/dev', key: 'zp-tmpfs-0', dir: '/w/tmpfs-0' }];
  assert.deepEqual(dumpExternals(copies), [{ key: '/dev', value: 'zp-tmpfs-0' }]);
  assert.deepEqual(restoreExternals(copies), [{ key: 'zp-tmpfs-0', value: '/w/tmpfs-0' }]);
});

void test('tmpfsCopiesIn: the copies mounted in a work directory, by their image keys, in order', () => {
  const mountinfo = [
    '22 1 0:20 / / rw - ext4 /dev/vda rw',
    '90 22 0:50 / /run/zeropod/work/abc/tmpfs-10 rw - tmpfs tmpfs rw',
    '91 22 0:51 / /run/zeropod/work/abc/tmpfs-0 rw - tmpfs tmpfs rw',
    '92 22 0:52 / /run/zeropod/work/abc/criu-root rw - overlay overlay rw',
    '93 22 0:53 / /run/zeropod/work/abcd/tmpfs-1 rw - tmpfs tmpfs rw',
    '94 90 0:54 / /run/zeropod/work/abc/tmpfs-10/pts rw - devpts devpts rw',
    '',
  ].join('\n');
  assert.deepEqual(tmpfsCopiesIn('/run/zeropod/work/abc', mountinfo), [
    { mountpoint: '', key: 'zp-tmpfs-0', dir: '/run/zeropod/work/abc/tmpfs-0' },
    { mountpoint: '', key: 'zp-tmpfs-10', dir: '/run/zeropod/work/abc/tmpfs-10' },
  ]);
});
