import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { codeOf } from '../base/index.ts';
import { dialInNetns } from './dial.ts';

const here = () => readlinkSync('/proc/thread-self/ns/net');

void test('bad arguments are InvalidArgument, an aborted signal Canceled, before any setns', async () => {
  const before = here();
  await assert.rejects(
    dialInNetns('/x', { host: 'example.com', port: 80 }),
    (err: unknown) => codeOf(err) === 'InvalidArgument',
  );
  await assert.rejects(
    dialInNetns('/x', { host: '::1', port: -1 }),
    (err: unknown) => codeOf(err) === 'InvalidArgument',
  );
  await assert.rejects(
    dialInNetns('/x', { host: '::1', port: 80 }, AbortSignal.abort()),
    (err: unknown) => codeOf(err) === 'Canceled',
  );
  assert.equal(here(), before);
});

void test('a missing namespace file is NotFound', async () => {
  await assert.rejects(
    dialInNetns('/run/netns/zeropod-does-not-exist', { host: '127.0.0.1', port: 1 }),
    (err: unknown) => codeOf(err) === 'NotFound',
  );
});
