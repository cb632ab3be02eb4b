import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagerMetrics } from './metrics.ts';
import { NodeView } from './node-view.ts';
import type { ContainerSnapshot, ScaleCounts } from './wire.ts';

const pod = { name: 'nginx-1', namespace: 'demo', uid: 'u1' };
const zero: ScaleCounts = {
  checkpoints: 0,
  restores: 0,
  failedCheckpoints: 0,
  failedRestores: 0,
  freshStarts: 0,
};
const L = 'container="nginx",pod="nginx-1",namespace="demo"';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function snapshot(
  counts: Partial<ScaleCounts>,
  checkpointsMs: number[],
  restoresMs: number[],
): ContainerSnapshot {
  return {
    id: 'c1',
    name: 'nginx',
    pod,
    phase: 'scaled-down',
    counts: { ...zero, ...counts },
    checkpointsMs,
    restoresMs,
    lastCheckpointAt: 1_700_000_000_000,
    asleepBytes: 4_000_000,
    traffic: { connectionsHeld: 2, clientWakes: 3, wakeLatenciesMs: [900, 40, 60] },
  };
}

test("the original's seven metrics with its labels, rebuilt from a snapshot", async () => {
  const view = new NodeView();
  const m = new ManagerMetrics(view);
  view.snapshot('s', [
    snapshot({ checkpoints: 3, restores: 2, failedCheckpoints: 1 }, [100, 200, 3000], [30, 40]),
  ]);
  const text = await m.render();
  for (const type of [
    'zeropod_checkpoint_duration_seconds histogram',
    'zeropod_restore_duration_seconds histogram',
    'zeropod_last_checkpoint_time gauge',
    'zeropod_last_restore_time gauge',
    'zeropod_running gauge',
    'zeropod_checkpoint_errors_total counter',
    'zeropod_restore_errors_total counter',
  ])
    assert.match(text, new RegExp(`# TYPE ${type}\n`));
  assert.equal(value(text, `zeropod_checkpoint_duration_seconds_count{${L}}`), 3);
  assert.equal(value(text, `zeropod_checkpoint_duration_seconds_bucket{le="0.1",${L}}`), 1);
  assert.equal(value(text, `zeropod_checkpoint_duration_seconds_bucket{le="2.5",${L}}`), 2);
  assert.equal(value(text, `zeropod_restore_duration_seconds_count{${L}}`), 2);
  assert.equal(value(text, `zeropod_running{${L}}`), 0);
  assert.equal(value(text, `zeropod_checkpoint_errors_total{${L}}`), 1);
  assert.equal(value(text, `zeropod_restore_errors_total{${L}}`), 0);
  assert.equal(value(text, `zeropod_last_checkpoint_time{${L}}`), 1.7e18);
  assert.equal(value(text, 'zeropod_containers_scaled_down'), 1);
  assert.equal(value(text, `zeropod_memory_freed_bytes{${L}}`), 4_000_000);
});

test('wake latency and connections held: from the status read before each scrape', async () => {
  const view = new NodeView();
  let reads = 0;
  const m = new ManagerMetrics(view, () => {
    reads++;
    // What a scrape-time read of the shim would bring: one more wake, nothing held any more.
    if (reads === 2)
      view.traffic('s', [
        {
          ...snapshot({}, [], []),
          traffic: { connectionsHeld: 0, clientWakes: 4, wakeLatenciesMs: [900, 40, 60, 120] },
        },
      ]);
    return Promise.resolve();
  });
  view.snapshot('s', [snapshot({ checkpoints: 1 }, [100], [])]);
  let text = await m.render();
  assert.match(text, /# TYPE zeropod_wake_latency_seconds histogram\n/);
  assert.match(text, /# TYPE zeropod_connections_held gauge\n/);
  assert.equal(value(text, `zeropod_connections_held{${L}}`), 2);
  assert.equal(value(text, `zeropod_wake_latency_seconds_count{${L}}`), 3);
  assert.equal(value(text, `zeropod_wake_latency_seconds_bucket{le="0.05",${L}}`), 1);
  text = await m.render();
  assert.equal(value(text, `zeropod_connections_held{${L}}`), 0);
  assert.equal(value(text, `zeropod_wake_latency_seconds_count{${L}}`), 4);
  assert.equal(value(text, `zeropod_wake_latency_seconds_bucket{le="0.15",${L}}`), 3);
  // Another shim's answer about a container it does not own changes nothing.
  view.traffic('other', [
    { ...snapshot({}, [], []), traffic: { connectionsHeld: 9, clientWakes: 9, wakeLatenciesMs: [] } },
  ]);
  text = await m.render();
  assert.equal(value(text, `zeropod_connections_held{${L}}`), 0);
  // The container goes: its series go too.
  view.snapshot('s', []);
  text = await m.render();
  assert.doesNotMatch(text, /zeropod_wake_latency_seconds_count\{/);
  assert.doesNotMatch(text, /zeropod_connections_held\{/);
});

test('changes add one observation each; scraping twice observes nothing twice', async () => {
  const view = new NodeView();
  const m = new ManagerMetrics(view);
  view.snapshot('s', [snapshot({ checkpoints: 1 }, [100], [])]);
  await m.render();
  const base = { seq: 1, at: 2, id: 'c1', name: 'nginx', pod, asleepBytes: 0 };
  view.change('s', { ...base, from: 'scaled-down', to: 'restoring', counts: { ...zero, checkpoints: 1 } });
  view.change('s', {
    ...base,
    from: 'restoring',
    to: 'running',
    counts: { ...zero, checkpoints: 1, restores: 1, lastRestoreMs: 20 },
  });
  await m.render();
  const text = await m.render();
  assert.equal(value(text, `zeropod_restore_duration_seconds_count{${L}}`), 1);
  assert.equal(value(text, `zeropod_checkpoint_duration_seconds_count{${L}}`), 1);
  assert.equal(value(text, `zeropod_running{${L}}`), 1);
  assert.equal(value(text, `zeropod_memory_freed_bytes{${L}}`), 0, 'awake: nothing freed');
});

test('a container that stops leaves no series behind', async () => {
  const view = new NodeView();
  const m = new ManagerMetrics(view);
  view.snapshot('s', [snapshot({ checkpoints: 1 }, [100], [])]);
  assert.match(await m.render(), /nginx-1/);
  view.change('s', {
    seq: 1,
    at: 2,
    id: 'c1',
    name: 'nginx',
    pod,
    from: 'scaled-down',
    to: 'stopped',
    counts: zero,
    asleepBytes: 0,
  });
  const text = await m.render();
  assert.doesNotMatch(text, /nginx-1/);
  assert.equal(value(text, 'zeropod_containers_tracked'), 0);
});
