import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZeropodError } from '../base/index.ts';
import { readRuncState, restoredRuncState, writeRuncState, type RuncStateFile } from './state-file.ts';

const old: RuncStateFile = {
  id: 'c1',
  init_process_pid: 40,
  init_process_start: 100,
  created: '2026-01-01T00:00:00Z',
  namespace_paths: { NEWNET: '/proc/40/ns/net', NEWPID: '/proc/40/ns/pid' },
  external_descriptors: ['/dev/null', 'pipe:[1]', 'pipe:[2]'],
  intel_rdt_path: '',
  config: { rootfs: '/r', mounts: [], namespaces: [{ type: 'NEWPID', path: '' }], labels: ['a=b'] },
};

void test("a restored state names the new process as runc's own restore would", () => {
  const s = restoredRuncState(old, {
    pid: 77,
    startTime: 555,
    created: new Date('2026-02-02T00:00:00Z'),
    descriptors: ['/dev/null', 'pipe:[8]', 'pipe:[9]'],
  });
  assert.equal(s.init_process_pid, 77);
  assert.equal(s.init_process_start, 555);
  assert.equal(s.created, '2026-02-02T00:00:00.000Z');
  assert.deepEqual(s.namespace_paths, {
    NEWNET: '/proc/77/ns/net',
    NEWPID: '/proc/77/ns/pid',
    NEWTIME: '/proc/77/ns/time',
  });
  assert.deepEqual(s.external_descriptors, ['/dev/null', 'pipe:[8]', 'pipe:[9]']);
  // CRIU's time namespace joins the config once; fields we do not know pass through.
  assert.deepEqual(s.config.namespaces, [
    { type: 'NEWPID', path: '' },
    { type: 'NEWTIME', path: '' },
  ]);
  assert.equal(
    restoredRuncState(s, { pid: 78, startTime: 1, created: new Date(), descriptors: [] }).config.namespaces
      ?.length,
    2,
  );
  assert.equal(s.intel_rdt_path, '');
  assert.deepEqual(s.config['labels'], ['a=b']);
  assert.equal(old.init_process_pid, 40, 'the old state is not changed');
});

void test('reads and replaces state.json; a malformed one is an error naming the file', () => {
  const root = mkdtempSync(join(tmpdir(), 'zp-state-'));
  try {
    mkdirSync(join(root, 'c1'));
    writeRuncState(root, old);
    assert.deepEqual(readRuncState(root, 'c1'), old);
    assert.equal(statSync(join(root, 'c1', 'state.json')).mode & 0o777, 0o600);
    writeFileSync(join(root, 'c1', 'state.json'), '{"id":"other"}');
    assert.throws(
      () => readRuncState(root, 'c1'),
      (err: unknown) => err instanceof ZeropodError && /not in the expected form/.test(err.message),
    );
    assert.throws(() => readRuncState(root, 'nope'), /cannot read runc's state of nope/);
    assert.ok(readFileSync(join(root, 'c1', 'state.json'), 'utf8').length > 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
