import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedScalePhase, ScaleRecord } from '../records/index.ts';
import { adoptionPlan } from './adoption.ts';

const record = (phase: RecordedScalePhase): ScaleRecord => ({
  phase,
  ports: [6379],
  activatorPorts: [41000],
  imagePath: '/img',
  workPath: '/work',
  heldConnections: 0,
});

void test('a running app is adopted running; caught mid-checkpoint or mid-wake it is thawed first', () => {
  assert.equal(adoptionPlan({ alive: true, record: record('running'), imageComplete: false }), 'running');
  assert.equal(adoptionPlan({ alive: true, record: undefined, imageComplete: false }), 'running');
  for (const phase of ['checkpointing', 'restoring', 'scaled-down'] as const)
    assert.equal(
      adoptionPlan({ alive: true, record: record(phase), imageComplete: true }),
      'running-after-checkpoint',
      phase,
    );
});

void test('a gone app sleeps only with a whole image; whatever the record says', () => {
  // The record may still say running: the worker died between the dump and the record's write.
  for (const phase of ['running', 'checkpointing', 'scaled-down', 'restoring'] as const) {
    assert.equal(adoptionPlan({ alive: false, record: record(phase), imageComplete: true }), 'asleep', phase);
    assert.equal(
      adoptionPlan({ alive: false, record: record(phase), imageComplete: false }),
      'exited',
      phase,
    );
  }
  assert.equal(adoptionPlan({ alive: false, record: undefined, imageComplete: true }), 'exited');
});
