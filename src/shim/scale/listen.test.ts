import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activatorFds, activatorKey, dropHeldOf } from './listen.ts';

/** A keeper's fd store as the worker sees it: what it inherited, what it asked to keep and drop. */
function store(inherited: Record<string, number>) {
  const kept: string[] = [];
  const dropped: string[] = [];
  return {
    kept,
    dropped,
    fds: {
      inherited: (key: string) => inherited[key],
      inheritedKeys: Object.keys(inherited),
      keep: (key: string) => void kept.push(key),
      drop: (key: string) => void dropped.push(key),
      splice: () => Promise.resolve(),
    },
  };
}

void test('held connections left by the last worker: this container only, with their app port, once', () => {
  const s = store({
    [activatorKey('c1', 80)]: 5,
    'c1/held-80-1234-1': 6,
    'c1/held-8080-1234-2': 7,
    'c10/held-80-99-1': 8, // another container whose id starts the same
    'c1/stdout': 9,
  });
  const a = activatorFds('c1', s.fds);
  assert.equal(a.inheritedListener(80), 5);
  assert.deepEqual(a.inheritedHeld(), [
    { key: 'c1/held-80-1234-1', appPort: 80, fd: 6 },
    { key: 'c1/held-8080-1234-2', appPort: 8080, fd: 7 },
  ]);
  assert.deepEqual(a.inheritedHeld(), [], 'taken up once');
});

void test('a held connection gets a key of its own; a gone container drops what it left', () => {
  const s = store({ 'c2/held-80-1-1': 6, 'c20/held-80-1-1': 7 });
  const a = activatorFds('c2', s.fds);
  const k1 = a.keepHeld(443, 10);
  const k2 = a.keepHeld(443, 11);
  assert.notEqual(k1, k2);
  assert.match(k1, /^c2\/held-443-\d+-\d+$/);
  assert.deepEqual(s.kept, [k1, k2]);
  dropHeldOf('c2', s.fds);
  assert.deepEqual(s.dropped, ['c2/held-80-1-1']);
});
