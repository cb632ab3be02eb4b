import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Effect } from './node-view.ts';
import { WakeDeferral } from './wake-deferral.ts';

const pod = { name: 'p', namespace: 'n', uid: 'u' };
const label = (value: 'RUNNING' | 'SCALED_DOWN'): Effect => ({ kind: 'label', pod, container: 'c', value });

test("a wake's effects wait; what comes after waits behind them, in order", (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const applied: Effect[] = [];
  const d = new WakeDeferral((e) => applied.push(e), 300);
  d.push([label('SCALED_DOWN')], false);
  assert.equal(applied.length, 1, 'not a wake: at once');
  d.push([label('RUNNING')], true);
  d.push([label('SCALED_DOWN')], false);
  assert.equal(applied.length, 1, 'held back');
  t.mock.timers.tick(299);
  assert.equal(applied.length, 1);
  t.mock.timers.tick(1);
  assert.deepEqual(
    applied.map((e) => (e.kind === 'label' ? e.value : e.kind)),
    ['SCALED_DOWN', 'RUNNING', 'SCALED_DOWN'],
  );
  d.push([label('RUNNING')], false);
  assert.equal(applied.length, 4, 'nothing waits any more: at once again');
});

test('flush applies what waits (the manager closing)', () => {
  const applied: Effect[] = [];
  const d = new WakeDeferral((e) => applied.push(e), 60_000);
  d.push([label('RUNNING')], true);
  d.flush();
  assert.equal(applied.length, 1);
});
