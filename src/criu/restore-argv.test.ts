import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeropodError } from '../base/index.ts';
import { criuRestoreArgv, type CriuRestoreArgs } from './restore-argv.ts';

const base: CriuRestoreArgs = {
  imagePath: '/img',
  workPath: '/work',
  root: '/work/criu-root',
  pidFile: '/work/restored.pid',
  extMounts: [{ key: '/etc/hosts', value: '/sandbox/hosts' }],
  inheritFds: [
    { fd: 1, key: 'pipe:[11]' },
    { fd: 4, key: 'extRootNetNS' },
  ],
  joinNs: [{ ns: 'ipc', file: '/proc/9/ns/ipc' }],
  cgroupRoots: [
    { controller: 'memory', path: '/pod/c' },
    { controller: '', path: '/pod/c' },
  ],
  logLevel: 2,
};

void test('spells runc restore RPC request as CRIU options: detached, root task our child', () => {
  const argv = criuRestoreArgv({ ...base, emptyNs: ['net'], tcpEstablished: true, lazyPages: true });
  assert.deepEqual(argv, [
    'restore',
    '--images-dir',
    '/img',
    '--work-dir',
    '/work',
    '--log-file',
    'restore.log',
    '-v2',
    '--root',
    '/work/criu-root',
    '--pidfile',
    '/work/restored.pid',
    '--restore-detached',
    '--restore-sibling',
    '--evasive-devices',
    '--manage-cgroups=soft',
    '--external',
    'mnt[/etc/hosts]:/sandbox/hosts',
    '--inherit-fd',
    'fd[1]:pipe:[11]',
    '--inherit-fd',
    'fd[4]:extRootNetNS',
    '--join-ns',
    'ipc:/proc/9/ns/ipc',
    '--cgroup-root',
    'memory:/pod/c',
    '--cgroup-root',
    ':/pod/c',
    '--empty-ns',
    'net',
    '--tcp-established',
    '--lazy-pages',
  ]);
});

void test('the optional --manage-cgroups argument is always attached with =', () => {
  const argv = criuRestoreArgv({ ...base, manageCgroups: 'ignore' });
  assert.ok(argv.includes('--manage-cgroups=ignore'));
  assert.ok(!argv.includes('--manage-cgroups'));
});

void test('refuses values CRIU would misparse, naming the field', () => {
  const bad: [Partial<CriuRestoreArgs>, RegExp][] = [
    [{ extMounts: [{ key: '/a]b', value: '/x' }] }, /mount key/],
    [{ extMounts: [{ key: '/a', value: '/with space' }] }, /mount source/],
    [{ inheritFds: [{ fd: -1, key: 'k' }] }, /inherited fd/],
    [{ joinNs: [{ ns: 'ipc', file: '' }] }, /ns file/],
    [{ logLevel: 7 }, /logLevel must be 0\.\.4/],
  ];
  for (const [patch, message] of bad)
    assert.throws(
      () => criuRestoreArgv({ ...base, ...patch }),
      (err: unknown) => err instanceof ZeropodError && message.test(err.message),
    );
});
