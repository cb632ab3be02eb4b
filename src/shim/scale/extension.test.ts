import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../base/index.ts';
import { LAZY_PAGES_MIN_MIB, lazyPagesMinBytes } from './extension.ts';

function recorder(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = {
    warn: (msg: string) => warnings.push(msg),
    info: () => undefined,
    debug: () => undefined,
    error: () => undefined,
    child: () => log,
  } as unknown as Logger;
  return { log, warnings };
}

void test('the lazy-pages threshold: default, an override in MiB, and a bad value named and ignored', () => {
  const r = recorder();
  assert.equal(lazyPagesMinBytes(undefined, r.log), LAZY_PAGES_MIN_MIB * 2 ** 20);
  assert.equal(lazyPagesMinBytes('', r.log), LAZY_PAGES_MIN_MIB * 2 ** 20);
  assert.equal(lazyPagesMinBytes('0', r.log), 0);
  assert.equal(lazyPagesMinBytes('96', r.log), 96 * 2 ** 20);
  assert.deepEqual(r.warnings, []);
  assert.equal(lazyPagesMinBytes('lots', r.log), LAZY_PAGES_MIN_MIB * 2 ** 20);
  assert.equal(lazyPagesMinBytes('-1', r.log), LAZY_PAGES_MIN_MIB * 2 ** 20);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /ZEROPOD_LAZY_PAGES_MIN_MIB must be a number of MiB/);
});
