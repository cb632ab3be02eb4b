import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { cmdlineNames, isUnder, mountPointsUnder, processesNaming } from './proc-leftovers.ts';

void test('isUnder: the directory itself and paths below it, never a sibling with the same prefix', () => {
  assert.equal(isUnder('/run/zeropod/work/abc', '/run/zeropod/work/abc'), true);
  assert.equal(isUnder('/run/zeropod/work/abc/criu-root', '/run/zeropod/work/abc/'), true);
  assert.equal(isUnder('/run/zeropod/work/abcd', '/run/zeropod/work/abc'), false);
  assert.equal(isUnder('/run/zeropod/work', '/run/zeropod/work/abc'), false);
});

void test('cmdlineNames: a plain argument or a --flag=value naming the directory', () => {
  const waiter = ['/bin/sh', '-c', 'read', 'zeropod-restore', 'criu', 'restore', '--work-dir', '/w/abc', ''];
  assert.equal(cmdlineNames(waiter.join('\0'), '/w/abc'), true);
  assert.equal(cmdlineNames(['criu', 'lazy-pages', '--images-dir=/w/abc/img'].join('\0'), '/w/abc'), true);
  assert.equal(cmdlineNames(['criu', 'lazy-pages', '--work-dir', '/w/abcd'].join('\0'), '/w/abc'), false);
  assert.equal(cmdlineNames('', '/w/abc'), false);
});

void test('mountPointsUnder: deepest first, escapes decoded, others left out', () => {
  const mountinfo = [
    '22 1 0:20 / / rw - ext4 /dev/vda rw',
    '90 22 0:50 / /w/abc/criu-root rw - overlay overlay rw',
    '91 90 0:51 / /w/abc/criu-root/proc rw - proc proc rw',
    '92 22 0:52 / /w/abc/tmpfs\\0400 rw - tmpfs tmpfs rw',
    '93 22 0:53 / /w/abcd/tmpfs-0 rw - tmpfs tmpfs rw',
    '',
  ].join('\n');
  assert.deepEqual(mountPointsUnder(mountinfo, '/w/abc'), [
    '/w/abc/criu-root/proc',
    '/w/abc/tmpfs 0',
    '/w/abc/criu-root',
  ]);
});

void test('processesNaming finds a live process by an argument naming the directory', async (t) => {
  const dir = `/tmp/zp-leftover-test-${process.pid}`;
  const child = spawn('/bin/sh', ['-c', 'sleep 30; true', 'helper', `${dir}/lazy-pages.socket`], {
    stdio: 'ignore',
  });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  // 'spawn' comes after fork, maybe before exec: until then the child's cmdline is ours.
  for (let i = 0; i < 100 && processesNaming(dir).length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(processesNaming(dir), [child.pid]);
  assert.deepEqual(processesNaming(`${dir}x`), []);
  assert.deepEqual(
    processesNaming(dir, (argv) => argv[0] === '/bin/sh'),
    [child.pid],
    'kept by the filter',
  );
  assert.deepEqual(
    processesNaming(dir, (argv) => argv.includes('create')),
    [],
    'left out by the filter',
  );
});
