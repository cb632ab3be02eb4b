import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syscallMount } from './mount.ts';

void test('an overlay snapshot is one mount(2): flags apart, the rest as data', () => {
  assert.deepEqual(
    syscallMount({
      type: 'overlay',
      source: 'overlay',
      options: ['index=off', 'ro', 'nosuid', 'lowerdir=/l1:/l2', 'upperdir=/u', 'workdir=/w'],
    }),
    { flags: 1 | 2, data: 'index=off,lowerdir=/l1:/l2,upperdir=/u,workdir=/w' },
  );
  assert.deepEqual(syscallMount({ type: 'tmpfs', source: 'tmpfs', options: [] }), { flags: 0, data: '' });
});

void test('binds, propagation and over-long data go through the mount binary', () => {
  assert.equal(syscallMount({ type: 'bind', source: '/a', options: ['rbind', 'ro'] }), undefined);
  assert.equal(syscallMount({ type: 'none', source: '/a', options: ['rbind'] }), undefined);
  assert.equal(syscallMount({ type: 'ext4', source: '/img', options: ['loop'] }), undefined);
  assert.equal(syscallMount({ type: 'tmpfs', source: 'tmpfs', options: ['rshared'] }), undefined);
  const long = `lowerdir=${Array.from({ length: 200 }, (_, i) => `/var/lib/snapshots/${i}/fs`).join(':')}`;
  assert.equal(syscallMount({ type: 'overlay', source: 'overlay', options: [long] }), undefined);
});
