import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { externalizedBuiltins, relocateCStrings } from './node-builtins.ts';

// The shape of Debian's libnode.so.137 (offsets differ): the loader's C string, process.config's
// text and the compiler's flag record all mention the path.
const UNDICI = '/usr/share/nodejs/undici/undici-fetch.js';
const lib = Buffer.from(
  `\x7fELF..\0Cannot load externalized builtin: "%s:%s".\n\0\0\0${UNDICI}\0\0\0` +
    `{"variables":{"NODE_SHARED_BUILTIN_UNDICI_UNDICI_PATH=${UNDICI}",\n}}` +
    `\0NODE_SHARED_BUILTIN_UNDICI_UNDICI_PATH=${UNDICI}\0\x01,`,
  'latin1',
);

void test('finds the externalized builtins by their build markers', () => {
  assert.deepEqual(externalizedBuiltins(lib), [UNDICI]);
  assert.deepEqual(externalizedBuiltins(Buffer.from('\x7fELF plain node')), []);
});

void test("rewrites only the loader's C string, NUL padded, same size", () => {
  const out = relocateCStrings(lib, new Map([[UNDICI, '/opt/zeropod/js/undici-fetch.js']]), 'libnode');
  assert.equal(out.length, lib.length);
  const text = out.toString('latin1');
  assert.ok(text.includes('\0/opt/zeropod/js/undici-fetch.js\0\0\0\0\0\0\0\0\0\0\0\0'));
  assert.equal(text.split(UNDICI).length - 1, 2, 'process.config and the flag record keep the original');
  assert.equal(lib.toString('latin1').split(UNDICI).length - 1, 3, 'the input is not modified');
});

void test('a longer destination or a missing/duplicated C string is refused', () => {
  const refused = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) =>
        e instanceof ZeropodError && e.code === ErrorCode.FailedPrecondition && pattern.test(e.message),
    );
  refused(
    () =>
      relocateCStrings(
        lib,
        new Map([[UNDICI, `/a/very/long/opt/dir/for/zeropod/js/undici-fetch.js`]]),
        'libnode',
      ),
    /cannot point libnode at .*: longer than \/usr\/share\/nodejs\/undici\/undici-fetch\.js \(40 bytes\); expected a shorter --opt-dir/,
  );
  refused(
    () => relocateCStrings(Buffer.from(`x${UNDICI}x`), new Map([[UNDICI, '/o/u.js']]), 'libnode'),
    /has 0 C strings .*expected exactly one/,
  );
  refused(
    () =>
      relocateCStrings(Buffer.from(`\0${UNDICI}\0${UNDICI}\0`), new Map([[UNDICI, '/o/u.js']]), 'libnode'),
    /has 2 C strings/,
  );
});
