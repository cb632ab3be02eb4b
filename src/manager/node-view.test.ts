import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeView, agrees } from './node-view.ts';
import type { ContainerSnapshot, PhaseChangeLine, ScaleCounts, ScalePhase } from './wire.ts';

const pod = { name: 'nginx-1', namespace: 'demo', uid: 'u1' };
const zero: ScaleCounts = {
  checkpoints: 0,
  restores: 0,
  failedCheckpoints: 0,
  failedRestores: 0,
  freshStarts: 0,
};
let seq = 0;
const change = (from: ScalePhase, to: ScalePhase, counts: Partial<ScaleCounts> = {}): PhaseChangeLine => ({
  seq: ++seq,
  at: 1000 + seq,
  id: 'c1',
  name: 'nginx',
  pod,
  from,
  to,
  counts: { ...zero, ...counts },
  asleepBytes: 0,
});
const kinds = (effects: { kind: string; value?: string; reason?: string; asleep?: boolean }[]) =>
  effects.map((e) =>
    e.kind === 'label'
      ? `label ${e.value}`
      : e.kind === 'event'
        ? `event ${e.reason}`
        : e.kind === 'resize'
          ? `resize ${e.asleep ? 'down' : 'back'}`
          : e.kind,
  );

test('a sleep and a wake set the labels and write the original reasons with durations', () => {
  const v = new NodeView();
  assert.deepEqual(kinds(v.change('s', change('starting', 'running'))), ['label RUNNING']);
  assert.deepEqual(kinds(v.change('s', change('running', 'checkpointing'))), []);
  const down = v.change(
    's',
    change('checkpointing', 'scaled-down', { checkpoints: 1, lastCheckpointMs: 191.4 }),
  );
  assert.deepEqual(kinds(down), ['label SCALED_DOWN', 'event Scaled down', 'resize down']);
  assert.match(down[1]?.kind === 'event' ? down[1].message : '', /Scaled down container nginx in 191 ms/);
  v.change('s', change('scaled-down', 'restoring', { checkpoints: 1 }));
  const up = v.change(
    's',
    change('restoring', 'running', { checkpoints: 1, restores: 1, lastRestoreMs: 35 }),
  );
  assert.deepEqual(kinds(up), ['label RUNNING', 'event Running', 'resize back']);
  assert.match(up[1]?.kind === 'event' ? up[1].message : '', /Restored container nginx in 35 ms/);
  const t = v.containers.get('c1');
  assert.deepEqual([t?.checkpointsMs, t?.restoresMs], [[191.4], [35]]);
});

test('a failed checkpoint says so; an aborted one (traffic came) says nothing', () => {
  const v = new NodeView();
  v.change('s', change('starting', 'running'));
  v.change('s', change('running', 'checkpointing'));
  assert.deepEqual(
    kinds(
      v.change('s', change('checkpointing', 'running', { abortedCheckpoints: 1 } as Partial<ScaleCounts>)),
    ),
    [],
  );
  v.change('s', change('running', 'checkpointing'));
  const failed = v.change(
    's',
    change('checkpointing', 'running', { failedCheckpoints: 1, lastError: 'criu: boom' }),
  );
  assert.deepEqual(kinds(failed), ['label CHECKPOINT_FAILED', 'event Checkpoint failed']);
  assert.equal(failed[1]?.kind === 'event' && failed[1].warning, true);
  assert.match(failed[1]?.kind === 'event' ? failed[1].message : '', /criu: boom/);
});

test('a restore that fails: started afresh is RESTORE_FAILED; a dead container too, and it is forgotten', () => {
  const v = new NodeView();
  v.change('s', change('starting', 'running'));
  v.change('s', change('scaled-down', 'restoring', { checkpoints: 1 }));
  const fresh = v.change(
    's',
    change('restoring', 'running', { checkpoints: 1, restores: 1, failedRestores: 2, freshStarts: 1 }),
  );
  assert.deepEqual(kinds(fresh), ['label RESTORE_FAILED', 'event Restore failed', 'resize back']);
  assert.match(fresh[1]?.kind === 'event' ? fresh[1].message : '', /memory state is lost/);
  v.change('s', change('scaled-down', 'restoring', { failedRestores: 2 }));
  assert.deepEqual(kinds(v.change('s', change('restoring', 'stopped', { failedRestores: 4 }))), [
    'event Restore failed',
    'label RESTORE_FAILED',
  ]);
  assert.equal(v.containers.size, 0);
});

test('a snapshot replaces what its shim said before and asks for the labels to be checked', () => {
  const v = new NodeView();
  v.change('s', change('starting', 'running'));
  const snap = (id: string, phase: ScalePhase): ContainerSnapshot => ({
    id,
    name: id,
    pod,
    phase,
    counts: { ...zero, checkpoints: 3 },
    checkpointsMs: [1, 2, 3],
    restoresMs: [4, 5],
    asleepBytes: 0,
    traffic: { connectionsHeld: 0, clientWakes: 0, wakeLatenciesMs: [] },
  });
  const effects = v.snapshot('s', [snap('a', 'scaled-down'), snap('b', 'running'), snap('c', 'starting')]);
  assert.deepEqual(
    effects.map((e) =>
      e.kind === 'reconcile'
        ? `${e.container} ${e.awake}`
        : e.kind === 'resize'
          ? `resize ${e.asleep}`
          : e.kind,
    ),
    ['a false', 'resize true', 'b true', 'resize false'],
  );
  assert.deepEqual([...v.containers.keys()].sort(), ['a', 'b', 'c'], 'c1 (not in the snapshot) is gone');
  v.snapshot('other', []);
  assert.equal(v.containers.size, 3, 'another shim does not touch these');
  v.unreachable('s');
  assert.equal(v.containers.size, 0);
});

test('labels that agree with a phase are left alone after a snapshot', () => {
  assert.equal(agrees('RUNNING', true), true);
  assert.equal(agrees('CHECKPOINT_FAILED', true), true);
  assert.equal(agrees('SCALED_DOWN', true), false);
  assert.equal(agrees(undefined, true), false);
  assert.equal(agrees('SCALED_DOWN', false), true);
  assert.equal(agrees('RUNNING', false), false);
});
