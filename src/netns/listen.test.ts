import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { codeOf } from '../base/index.ts';
import { listenInNetns } from './listen.ts';

const here = () => readlinkSync('/proc/thread-self/ns/net');

void test('bad arguments are InvalidArgument before any namespace is touched', async () => {
  const before = here();
  for (const options of [
    { host: 'localhost', port: 80 },
    { host: '127.0.0.1', port: 65536 },
    { host: '127.0.0.1', port: 1.5 },
    { host: '::', port: 80, backlog: 0 },
  ]) {
    await assert.rejects(
      listenInNetns('/nonexistent', options),
      (err: unknown) => codeOf(err) === 'InvalidArgument',
      JSON.stringify(options),
    );
  }
  assert.equal(here(), before);
});

void test('a missing namespace file is NotFound and leaves us at home', async () => {
  const before = here();
  await assert.rejects(
    listenInNetns('/run/netns/zeropod-does-not-exist', { host: '127.0.0.1', port: 0 }),
    (err: unknown) => codeOf(err) === 'NotFound',
  );
  assert.equal(here(), before);
});
