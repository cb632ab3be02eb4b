import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOrphaned, parseSysvShm } from './sysv-shm.ts';

const SHM = [
  '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap',
  '  88224337          0   600                    56  4311  4311      0   999   999   999   999 1733469000 1733469000 1733468990                  4096                     0',
  '         0          1   600               1048576  5000  5002      2     0     0     0     0 1733469000          0 1733468990                 65536                     0',
  '',
].join('\n');

void test('parseSysvShm reads key, id, size, pids and attach count of each segment', () => {
  assert.deepEqual(parseSysvShm(SHM), [
    { key: 88224337, id: 0, size: 56, cpid: 4311, lpid: 4311, nattch: 0 },
    { key: 0, id: 1, size: 1048576, cpid: 5000, lpid: 5002, nattch: 2 },
  ]);
  assert.deepEqual(parseSysvShm(SHM.split('\n')[0]!), []);
});

void test('a segment is orphaned only when unattached and its creator and last user are gone', () => {
  const [stale, used] = parseSysvShm(SHM);
  assert.equal(
    isOrphaned(stale!, () => false),
    true,
  );
  assert.equal(
    isOrphaned(stale!, (pid) => pid === 4311),
    false,
    'its creator still runs',
  );
  assert.equal(
    isOrphaned(used!, () => false),
    false,
    'attached',
  );
});
