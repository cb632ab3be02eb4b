import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { internal, silentLogger } from '../../base/index.ts';
import type { CheckpointOptions, Runc } from '../../runc/index.ts';
import { pagesBytes } from './processes-and-images.ts';
import {
  anotherRound,
  PRE_DUMP_MAX_ROUNDS,
  PRE_DUMP_SMALL_ROUND_PAGES,
  preDumpMemory,
  type PreDumpOptions,
} from './pre-dump.ts';

/** A CRIU stats-dump file (criu-stats.ts reads it) with the two fields the pre-dump uses. */
function statsDump(pagesWritten: number, frozenUs: number): Uint8Array {
  const dump = new BinaryWriter()
    .uint32(2 << 3)
    .uint64(frozenUs)
    .uint32(7 << 3)
    .uint64(pagesWritten)
    .finish();
  const entry = new BinaryWriter()
    .uint32((1 << 3) | 2)
    .bytes(dump)
    .finish();
  const head = new DataView(new ArrayBuffer(12));
  head.setUint32(0, 0x55105940, true);
  head.setUint32(4, 0x57093306, true);
  head.setUint32(8, entry.byteLength, true);
  return Buffer.concat([new Uint8Array(head.buffer), entry]);
}

/** runc at its process boundary: records each checkpoint and writes what CRIU would. */
function fakeRunc(pages: number[], fail?: number) {
  const calls: CheckpointOptions[] = [];
  const runc = {
    checkpoint: (_id: string, o: CheckpointOptions) => {
      calls.push(o);
      if (calls.length === fail) return Promise.reject(internal('criu pre-dump failed'));
      mkdirSync(o.imagePath, { recursive: true });
      writeFileSync(path.join(o.imagePath, 'pages-1.img'), Buffer.alloc(pages[calls.length - 1]! * 16));
      if (o.parentPath) symlinkSync(o.parentPath, path.join(o.imagePath, 'parent'));
      writeFileSync(path.join(o.workPath, 'stats-dump'), statsDump(pages[calls.length - 1]!, 2500));
      return Promise.resolve();
    },
  };
  return { runc: runc as unknown as Runc, calls };
}

function setUp(t: { after(fn: () => void): void }, runc: Runc, extra: Partial<PreDumpOptions> = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-predump-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const warnings: string[] = [];
  const o: PreDumpOptions = {
    runc,
    id: 'c1',
    imagePath: path.join(root, 'images', 'c1'),
    workPath: path.join(root, 'work', 'c1'),
    log: silentLogger,
    warnOnce: (m) => warnings.push(m),
    dirtyTracking: () => Promise.resolve(true),
    ...extra,
  };
  // A stale image from the last sleep: the pre-dump starts from an empty directory.
  mkdirSync(o.imagePath, { recursive: true });
  writeFileSync(path.join(o.imagePath, 'stale.img'), 'old');
  return { o, warnings };
}

void test('rounds: the first always; another only while the last one wrote much, up to the bound', () => {
  const r = (pagesWritten: number) => ({ pagesWritten, frozenMs: 1, ms: 1 });
  assert.equal(anotherRound([], 2), true);
  assert.equal(anotherRound([], 0), false);
  assert.equal(anotherRound([r(50_000)], 2), true);
  assert.equal(anotherRound([r(PRE_DUMP_SMALL_ROUND_PAGES - 1)], 2), false, 'little was written: stop');
  assert.equal(anotherRound([r(50_000), r(40_000)], 2), false, 'the bound');
});

void test('pre-dump: rounds into <image>/pre-N, each naming the last; the final dump names the last round', async (t) => {
  const { runc, calls } = fakeRunc([60_000, 300]);
  const { o, warnings } = setUp(t, runc, { maxRounds: 3 });
  assert.equal(PRE_DUMP_MAX_ROUNDS, 1, 'one round unless asked: only idle apps are checkpointed');
  const r = await preDumpMemory(o);
  assert.equal(r.kind, 'copied');
  assert.ok(r.kind === 'copied');
  assert.equal(r.parentPath, 'pre-2');
  assert.deepEqual(
    r.rounds.map((x) => [x.pagesWritten, x.frozenMs]),
    [
      [60_000, 3],
      [300, 3],
    ],
  );
  assert.deepEqual(
    calls.map((c) => [
      path.relative(o.imagePath, c.imagePath),
      c.preDump,
      c.parentPath,
      c.workPath === o.workPath,
    ]),
    [
      ['pre-1', true, undefined, true],
      ['pre-2', true, '../pre-1', true],
    ],
  );
  assert.deepEqual(readdirSync(o.imagePath).sort(), ['pre-1', 'pre-2'], 'the stale image went first');
  assert.deepEqual(warnings, []);
  // What a full restore reads: the final image and every parent.
  writeFileSync(path.join(o.imagePath, 'pages-1.img'), Buffer.alloc(100));
  symlinkSync(r.parentPath, path.join(o.imagePath, 'parent'));
  assert.equal(pagesBytes(o.imagePath), 100 + 300 * 16 + 60_000 * 16);
});

void test('pre-dump: a kernel without soft-dirty tracking gets the plain dump, said through warnOnce', async (t) => {
  const { runc, calls } = fakeRunc([1]);
  const { o, warnings } = setUp(t, runc, { dirtyTracking: () => Promise.resolve(false) });
  assert.deepEqual(await preDumpMemory(o), { kind: 'skipped', reason: 'no-dirty-tracking' });
  assert.equal(calls.length, 0);
  assert.match(warnings.join('\n'), /no soft-dirty memory tracking: doing a plain dump/);
  assert.ok(existsSync(path.join(o.imagePath, 'stale.img')), 'the plain path clears the image itself');
});

void test('pre-dump: a failed round leaves an empty image and a plain dump to do', async (t) => {
  const { runc } = fakeRunc([60_000, 60_000], 2);
  const { o } = setUp(t, runc, { maxRounds: 2 });
  assert.deepEqual(await preDumpMemory(o), { kind: 'skipped', reason: 'failed' });
  assert.equal(existsSync(o.imagePath), false);
});

void test('pre-dump: traffic between rounds stops them and drops the copy', async (t) => {
  const { runc, calls } = fakeRunc([60_000, 60_000]);
  const { o } = setUp(t, runc, { maxRounds: 2, keepGoing: () => Promise.resolve(false) });
  assert.deepEqual(await preDumpMemory(o), { kind: 'skipped', reason: 'stopped' });
  assert.equal(calls.length, 1, 'asked only between rounds');
  assert.equal(existsSync(o.imagePath), false);
});

void test('pagesBytes: a plain image, and a missing one', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-pages-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(path.join(root, 'pages-1.img'), Buffer.alloc(10));
  writeFileSync(path.join(root, 'pages-2.img'), Buffer.alloc(5));
  writeFileSync(path.join(root, 'pagemap-1.img'), Buffer.alloc(99));
  assert.equal(pagesBytes(root), 15);
  assert.equal(pagesBytes(path.join(root, 'none')), 0);
  symlinkSync('.', path.join(root, 'parent'));
  assert.equal(pagesBytes(root), 15 * 16, 'a link loop is bounded');
});
