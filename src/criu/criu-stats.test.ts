import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZeropodError } from '../base/index.ts';
import { decodeCriuStats, readCriuStats } from './criu-stats.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Written by criu 4.2.1 (runc checkpoint / restore of a busybox container) in the node environment.
const STATS_DUMP = hex(`40 59 10 55 06 33 09 57 22 00 00 00 0a 20 08 8a
 03 10 f8 a2 04 18 f8 02 20 39 28 17 30 00 38 10 40 00 48 00 50 04 58 04 60 00 68 00 70 00`);
const STATS_RESTORE = hex('40 59 10 55 06 33 09 57 0e 00 00 00 12 0c 08 00 10 00 18 02 20 a6 d2 05 28 13');

void test('decodes stats-dump', () => {
  const s = decodeCriuStats(STATS_DUMP);
  assert.deepEqual(s.dump, {
    freezingTimeUs: 394,
    frozenTimeUs: 70008,
    memdumpTimeUs: 376,
    memwriteTimeUs: 57,
    pagesScanned: 23,
    pagesSkippedParent: 0,
    pagesWritten: 16,
    irmapResolveUs: 0,
    pagesLazy: 0,
    pagePipes: 4,
    pagePipeBufs: 4,
    shpagesScanned: 0,
    shpagesSkippedParent: 0,
    shpagesWritten: 0,
  });
  assert.equal(s.restore, undefined);
});

void test('decodes stats-restore', () => {
  assert.deepEqual(decodeCriuStats(STATS_RESTORE).restore, {
    pagesCompared: 0,
    pagesSkippedCow: 0,
    forkingTimeUs: 2,
    restoreTimeUs: 92454,
    pagesRestored: 19,
  });
});

void test('refuses a wrong magic or a truncated entry', () => {
  assert.throws(() => decodeCriuStats(hex('00000000 00000000 00000000')), ZeropodError);
  assert.throws(() => decodeCriuStats(STATS_RESTORE.subarray(0, 20)), ZeropodError);
});

void test('readCriuStats reads <work>/stats-<action>; none is undefined', async () => {
  const work = await mkdtemp(join(tmpdir(), 'zp-criu-stats-'));
  try {
    assert.equal(await readCriuStats(work, 'dump'), undefined);
    await writeFile(join(work, 'stats-dump'), STATS_DUMP);
    await writeFile(join(work, 'stats-restore'), STATS_RESTORE);
    assert.equal((await readCriuStats(work, 'dump'))?.frozenTimeUs, 70008);
    assert.equal((await readCriuStats(work, 'restore'))?.restoreTimeUs, 92454);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
