import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeBalance } from './node-balance.ts';

test("kubelet's packets alone are never activity, in flight or not", () => {
  const b = new NodeBalance();
  assert.equal(b.sample(0, 0), 0);
  assert.equal(b.sample(6, 6), 0); // a probe
  assert.equal(b.sample(8, 12), 0); // the next probe caught in flight: on the node's side only
  assert.equal(b.sample(12, 12), 0); // arrived
  assert.equal(b.sample(18, 18), 0);
});

test("the node's other clients are activity", () => {
  const b = new NodeBalance();
  b.sample(0, 0);
  assert.equal(b.sample(10, 6), 4); // a probe and a hostNetwork client's 4 packets
  assert.equal(b.sample(14, 6), 8);
  assert.equal(b.sample(12, 10), 8); // a probe in flight: no change
});

test('packets kubelet sent that never arrived set a new level once it holds', () => {
  const b = new NodeBalance();
  b.sample(10, 10);
  assert.equal(b.sample(10, 12), 0); // two lost
  assert.equal(b.sample(10, 12), 0); // same again: the new level
  assert.equal(b.sample(13, 12), 3); // a client's packets count from there
});
