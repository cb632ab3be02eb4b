import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientWakes } from './client-wakes.ts';

test('a hold ends once, however often its release is called', () => {
  const w = new ClientWakes();
  const a = w.hold();
  const b = w.hold();
  assert.equal(w.holding, 2);
  a();
  a();
  assert.equal(w.holding, 1);
  b();
  assert.equal(w.holding, 0);
});

test('latencies are counted and the newest 1000 kept', () => {
  const w = new ClientWakes();
  for (let i = 0; i < 1005; i++) w.reached(i);
  assert.equal(w.count, 1005);
  assert.equal(w.latenciesMs.length, 1000);
  assert.equal(w.latenciesMs[0], 5);
  assert.equal(w.latenciesMs.at(-1), 1004);
});
