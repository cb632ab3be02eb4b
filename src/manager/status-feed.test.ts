// The feed against the shim's real status server (a unix socket in a temp dir; the container is a
// stand-in with a real state machine): order, no gap between snapshot and stream, and reconnects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateMachine, silentLogger } from '../base/index.ts';
import { ClientWakes } from '../shim/scale/client-wakes.ts';
import { StatusServer } from '../shim/scale/status-server.ts';
import type { ScaledContainer, ScalePhase } from '../shim/scale/scaled-container.ts';
import { StatusFeed, type FeedMessage } from './status-feed.ts';

const table = {
  starting: ['running', 'stopped'],
  running: ['checkpointing', 'stopped'],
  checkpointing: ['running', 'scaled-down', 'stopped'],
  'scaled-down': ['restoring', 'stopped'],
  restoring: ['running', 'scaled-down', 'stopped'],
  stopped: [],
} as const;

function fakeContainer() {
  return {
    container: {
      id: 'c1',
      spec: {
        annotations: {
          'io.kubernetes.cri.sandbox-name': 'nginx-1',
          'io.kubernetes.cri.sandbox-namespace': 'demo',
          'io.kubernetes.cri.sandbox-uid': 'u1',
        },
      },
    },
    name: 'nginx',
    imagePath: '/nonexistent',
    state: new StateMachine<ScalePhase>('starting', table, silentLogger),
    ports: [80],
    config: { scaledownMs: 1000 },
    clientWakes: new ClientWakes(),
    record: () => ({ heldConnections: 0 }),
    stats: {
      checkpoints: 0,
      restores: 0,
      failedCheckpoints: 0,
      failedRestores: 0,
      abortedCheckpoints: 0,
      freshStarts: 0,
    } as Record<string, number>,
  };
}

function collector() {
  const got: FeedMessage[] = [];
  let wake: (() => void) | undefined;
  return {
    got,
    deliver: (m: FeedMessage) => {
      got.push(m);
      wake?.();
    },
    async until(pred: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 100 && !pred(); i++)
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      assert.ok(pred(), `waited for ${what}; got ${JSON.stringify(got.map((m) => m.kind))}`);
    },
  };
}

test('snapshot first, then every phase change once and in order, with the pod and durations', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zp-feed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 's.sock');
  const fake = fakeContainer();
  const server = new StatusServer(socket, () => [fake as unknown as ScaledContainer], silentLogger);
  await server.start();
  server.watch(fake as unknown as ScaledContainer);
  fake.state.transition('running');
  const c = collector();
  const feed = new StatusFeed(socket, c.deliver, silentLogger);
  t.after(() => feed.close());
  await c.until(() => c.got.length >= 1, 'the snapshot');
  const snap = c.got[0];
  assert.equal(snap?.kind, 'snapshot');
  if (snap?.kind === 'snapshot') {
    assert.equal(snap.containers[0]?.phase, 'running');
    assert.deepEqual(snap.containers[0]?.pod, { name: 'nginx-1', namespace: 'demo', uid: 'u1' });
  }
  fake.state.transition('checkpointing');
  fake.stats['checkpoints'] = 1;
  fake.stats['lastCheckpointMs'] = 120;
  fake.state.transition('scaled-down');
  await c.until(() => c.got.length >= 3, 'two changes');
  const changes = c.got
    .slice(1)
    .map((m) => (m.kind === 'change' ? `${m.change.from}>${m.change.to}` : m.kind));
  assert.deepEqual(changes, ['running>checkpointing', 'checkpointing>scaled-down']);
  const last = c.got[2];
  assert.equal(last?.kind === 'change' && last.change.counts.lastCheckpointMs, 120);
  await server.close();
});

test('after the shim restarts the feed reconnects and delivers a fresh snapshot with the remembered durations', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zp-feed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 's.sock');
  const fake = fakeContainer();
  let server = new StatusServer(socket, () => [fake as unknown as ScaledContainer], silentLogger);
  await server.start();
  server.watch(fake as unknown as ScaledContainer);
  const c = collector();
  const feed = new StatusFeed(socket, c.deliver, silentLogger);
  t.after(() => feed.close());
  await c.until(() => c.got.some((m) => m.kind === 'snapshot'), 'the first snapshot');
  await server.close();
  await c.until(() => c.got.some((m) => m.kind === 'unreachable'), 'the shim gone');
  fake.state.transition('running');
  fake.state.transition('checkpointing');
  fake.stats['checkpoints'] = 1;
  fake.stats['lastCheckpointMs'] = 80;
  server = new StatusServer(socket, () => [fake as unknown as ScaledContainer], silentLogger);
  server.watch(fake as unknown as ScaledContainer);
  fake.state.transition('scaled-down');
  await server.start();
  t.after(() => server.close());
  await c.until(() => c.got.filter((m) => m.kind === 'snapshot').length === 2, 'the second snapshot');
  const snap = c.got.findLast((m) => m.kind === 'snapshot');
  assert.equal(snap?.kind === 'snapshot' && snap.containers[0]?.phase, 'scaled-down');
  assert.deepEqual(snap?.kind === 'snapshot' && snap.containers[0]?.checkpointsMs, [80]);
});
