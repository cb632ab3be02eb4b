import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SOAK_DEFAULTS, SoakUsageError, parseSoakArgs } from './options.ts';

void test('parseSoakArgs: defaults, both spellings', () => {
  assert.deepEqual(parseSoakArgs([]), SOAK_DEFAULTS);
  assert.deepEqual(parseSoakArgs(['--cycles', '60', '--restart-every=20']), { cycles: 60, restartEvery: 20 });
  assert.deepEqual(parseSoakArgs(['--restart-every', '0']), { cycles: 1000, restartEvery: 0 });
});

void test('parseSoakArgs: bad values and unknown flags are named', () => {
  assert.throws(() => parseSoakArgs(['--cycles', '0']), /--cycles takes a whole number from 1/);
  assert.throws(() => parseSoakArgs(['--cycles', '1e3']), /--cycles .*not "1e3"/);
  assert.throws(() => parseSoakArgs(['--cycles']), /--cycles .*not nothing/);
  assert.throws(() => parseSoakArgs(['--restart-every', '-1']), /--restart-every/);
  assert.throws(() => parseSoakArgs(['--cycle', '5']), SoakUsageError);
  assert.throws(
    () => parseSoakArgs(['--cycles', '9'.repeat(300)]),
    (err: Error) => err.message.length < 120,
  );
});
