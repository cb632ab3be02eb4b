import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleTracker } from './idle.ts';

test('idle after the scale-down duration without counter changes', () => {
  const t = new IdleTracker(2000, 0);
  assert.equal(t.sample(5, 500), false);
  assert.equal(t.sample(5, 1999), false);
  assert.equal(t.sample(5, 2000), true);
});

test('traffic between samples resets the clock even if sampled late', () => {
  const t = new IdleTracker(2000, 0);
  t.sample(5, 500);
  assert.equal(t.sample(9, 2500), false, 'the counter moved');
  assert.equal(t.sample(9, 4000), false);
  assert.equal(t.sample(9, 4500), true);
});

test('a client that talks every second keeps it up', () => {
  const t = new IdleTracker(2000, 0);
  let count = 0;
  for (let now = 0; now <= 60_000; now += 500) {
    if (now % 1000 === 0) count++;
    assert.equal(t.sample(count, now), false, `at ${now}`);
  }
});

test('touch counts as activity; interval is bounded', () => {
  const t = new IdleTracker(2000, 0);
  t.sample(1, 0);
  t.touch(1900);
  assert.equal(t.sample(1, 3000), false);
  assert.equal(new IdleTracker(100, 0).intervalMs, 250);
  assert.equal(new IdleTracker(3_600_000, 0).intervalMs, 15_000);
});
