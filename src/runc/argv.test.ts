import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import * as argv from './argv.ts';

void test('global flags come first and always ask for a JSON log', () => {
  assert.deepEqual(argv.globalArgv({ root: '/run/r', log: '/b/log.json' }), [
    '--root',
    '/run/r',
    '--log',
    '/b/log.json',
    '--log-format',
    'json',
  ]);
  assert.deepEqual(argv.globalArgv({ root: '/r', log: '/l', systemdCgroup: true, debug: true }).slice(6), [
    '--systemd-cgroup',
    '--debug',
  ]);
});

void test('create: bundle, pid file, optional flags, id last', () => {
  assert.deepEqual(argv.createArgv('c1', { bundle: '/b', pidFile: '/b/init.pid' }), [
    'create',
    '--bundle',
    '/b',
    '--pid-file',
    '/b/init.pid',
    'c1',
  ]);
  assert.deepEqual(
    argv.createArgv('c1', {
      bundle: '/b',
      pidFile: '/p',
      consoleSocket: '/s.sock',
      noPivot: true,
      noNewKeyring: true,
    }),
    [
      'create',
      '--bundle',
      '/b',
      '--pid-file',
      '/p',
      '--console-socket',
      '/s.sock',
      '--no-pivot',
      '--no-new-keyring',
      'c1',
    ],
  );
});

void test('exec is always detached', () => {
  assert.deepEqual(argv.execArgv('c1', { processSpecPath: '/b/p.json', pidFile: '/b/e.pid' }), [
    'exec',
    '--detach',
    '--pid-file',
    '/b/e.pid',
    '--process',
    '/b/p.json',
    'c1',
  ]);
  assert.deepEqual(
    argv
      .execArgv('c1', { processSpecPath: '/p', pidFile: '/q', consoleSocket: '/s', ignorePaused: true })
      .slice(6),
    ['--console-socket', '/s', '--ignore-paused', 'c1'],
  );
});

void test('kill passes the signal as a number and --all before the id', () => {
  assert.deepEqual(argv.killArgv('c1', 9), ['kill', 'c1', '9']);
  assert.deepEqual(argv.killArgv('c1', 'SIGTERM', { all: true }), ['kill', '--all', 'c1', '15']);
  assert.deepEqual(argv.killArgv('c1', 'KILL'), ['kill', 'c1', '9']);
});

void test('signalNumber rejects nonsense as InvalidArgument', () => {
  for (const bad of [0, -1, 65, 1.5, 'SIGNOPE', '']) {
    assert.throws(
      () => argv.signalNumber(bad),
      (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.InvalidArgument,
    );
  }
});

void test('delete, ps, list, events, update, simple commands', () => {
  assert.deepEqual(argv.deleteArgv('c1'), ['delete', 'c1']);
  assert.deepEqual(argv.deleteArgv('c1', { force: true }), ['delete', '--force', 'c1']);
  assert.deepEqual(argv.psArgv('c1'), ['ps', '--format', 'json', 'c1']);
  assert.deepEqual(argv.listArgv(), ['list', '--format', 'json']);
  assert.deepEqual(argv.statsArgv('c1'), ['events', '--stats', 'c1']);
  assert.deepEqual(argv.updateArgv('c1'), ['update', '--resources', '-', 'c1']);
  for (const cmd of ['start', 'state', 'pause', 'resume'] as const)
    assert.deepEqual(argv.simpleArgv(cmd, 'c1'), [cmd, 'c1']);
});

void test('an id that looks like a flag is refused before runc sees it', () => {
  assert.throws(
    () => argv.simpleArgv('state', '--all'),
    (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.InvalidArgument,
  );
  assert.throws(() => argv.deleteArgv(''), ZeropodError);
});

void test('checkpoint: image and work path, then every CRIU flag in runc 1.3 spelling', () => {
  assert.deepEqual(argv.checkpointArgv('c1', { imagePath: '/i', workPath: '/w' }), [
    'checkpoint',
    '--image-path',
    '/i',
    '--work-path',
    '/w',
    'c1',
  ]);
  const all = argv.checkpointArgv('c1', {
    imagePath: '/i',
    workPath: '/w',
    leaveRunning: true,
    tcpEstablished: true,
    tcpSkipInFlight: true,
    linkRemap: true,
    extUnixSk: true,
    shellJob: true,
    fileLocks: true,
    lazyPages: true,
    statusFd: 3,
    pageServer: '127.0.0.1:2700',
    preDump: true,
    parentPath: '../pre',
    manageCgroupsMode: 'ignore',
    emptyNs: ['network'],
    autoDedup: true,
  });
  assert.deepEqual(all, [
    'checkpoint',
    '--image-path',
    '/i',
    '--work-path',
    '/w',
    '--tcp-established',
    '--ext-unix-sk',
    '--shell-job',
    '--file-locks',
    '--lazy-pages',
    '--manage-cgroups-mode',
    'ignore',
    '--empty-ns',
    'network',
    '--auto-dedup',
    '--leave-running',
    '--tcp-skip-in-flight',
    '--link-remap',
    '--status-fd',
    '3',
    '--page-server',
    '127.0.0.1:2700',
    '--pre-dump',
    '--parent-path',
    '../pre',
    'c1',
  ]);
  // false is the same as absent
  assert.deepEqual(
    argv.checkpointArgv('c1', { imagePath: '/i', workPath: '/w', leaveRunning: false }).length,
    6,
  );
});

void test('restore is detached and carries bundle, pid file and console socket', () => {
  assert.deepEqual(argv.restoreArgv('c1', { bundle: '/b', pidFile: '/p', imagePath: '/i', workPath: '/w' }), [
    'restore',
    '--detach',
    '--bundle',
    '/b',
    '--pid-file',
    '/p',
    '--image-path',
    '/i',
    '--work-path',
    '/w',
    'c1',
  ]);
  assert.deepEqual(
    argv
      .restoreArgv('c1', {
        bundle: '/b',
        pidFile: '/p',
        imagePath: '/i',
        workPath: '/w',
        consoleSocket: '/s',
        noPivot: true,
        noSubreaper: true,
        tcpEstablished: true,
        lazyPages: true,
      })
      .slice(10),
    ['--tcp-established', '--lazy-pages', '--console-socket', '/s', '--no-pivot', '--no-subreaper', 'c1'],
  );
});
