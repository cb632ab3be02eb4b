import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { OperationQueue } from '../../base/index.ts';
import { queued } from './queued.ts';

// The queue's timers are unref'd (they must not hold a daemon open): this keeps the test's loop alive.
const alive = setInterval(() => undefined, 1000);
after(() => clearInterval(alive));

void test('an operation that ignores its signal gives up its place at its timeout', async () => {
  const q = new OperationQueue();
  const hung = queued(q, 'hung', { timeoutMs: 20 }, () => new Promise<void>(() => undefined));
  const next = queued(q, 'next', { timeoutMs: 60_000 }, () => Promise.resolve('ran'));
  await assert.rejects(hung, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DeadlineExceeded');
    assert.match(err.message, /hung took longer than 20 ms/);
    return true;
  });
  assert.equal(await next, 'ran');
});

void test('an aborted operation keeps its place for its grace period to undo its work', async () => {
  const q = new OperationQueue();
  const outer = new AbortController();
  const order: string[] = [];
  const op = queued(
    q,
    'checkpoint',
    { timeoutMs: 60_000, signal: outer.signal, graceMs: 60_000 },
    (signal) => {
      const rolledBack = new Promise<void>((resolve) => {
        const undo = () =>
          setTimeout(() => {
            order.push('rolled back');
            resolve();
          }, 20);
        if (signal.aborted) undo();
        else signal.addEventListener('abort', undo);
      });
      return rolledBack;
    },
  );
  const kill = queued(q, 'kill', { timeoutMs: 60_000 }, async () => void order.push('killed'));
  outer.abort(new Error('kill'));
  await op;
  await kill;
  assert.deepEqual(order, ['rolled back', 'killed']);
});

void test('without a grace period, a cancelled operation is Canceled at once', async () => {
  const q = new OperationQueue();
  const outer = new AbortController();
  const op = queued(
    q,
    'wait',
    { timeoutMs: 60_000, signal: outer.signal },
    () => new Promise<void>(() => undefined),
  );
  outer.abort(new Error('delete'));
  await assert.rejects(op, (err: Error & { code?: string }) => err.code === 'Canceled');
});
