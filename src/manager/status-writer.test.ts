import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../base/index.ts';
import type { KubeApi, PodEvent } from './kube-api.ts';
import type { PodResources } from './resize-plan.ts';
import type { Tracked } from './node-view.ts';
import { StatusWriter } from './status-writer.ts';
import type { PodRef } from './wire.ts';

const pod = { name: 'nginx-1', namespace: 'demo', uid: 'u1' };

class FakeApi implements KubeApi {
  labels: Record<string, string> = {};
  patches: Record<string, string | null>[] = [];
  events: PodEvent[] = [];
  failNext = 0;
  gate: Promise<void> = Promise.resolve();
  readLabels(_pod: PodRef) {
    return Promise.resolve({ ...this.labels });
  }
  async patchLabels(_pod: PodRef, labels: Record<string, string | null>) {
    await this.gate;
    if (this.failNext-- > 0) throw Object.assign(new Error('unavailable'), { code: 503 });
    this.patches.push(labels);
    for (const [k, v] of Object.entries(labels)) if (v !== null) this.labels[k] = v;
  }
  createEvent(e: PodEvent) {
    this.events.push(e);
    return Promise.resolve();
  }
  annotations: Record<string, string> = {};
  requests = new Map<string, { cpu?: string; memory?: string }>();
  refuseResize = false;
  readResources(_pod: PodRef): Promise<PodResources | undefined> {
    return Promise.resolve({ annotations: { ...this.annotations }, requests: new Map(this.requests) });
  }
  patchAnnotations(_pod: PodRef, annotations: Record<string, string | null>) {
    for (const [k, v] of Object.entries(annotations))
      if (v === null) delete this.annotations[k];
      else this.annotations[k] = v;
    return Promise.resolve();
  }
  resize(_pod: PodRef, container: string, requests: { cpu?: string; memory?: string }) {
    if (this.refuseResize)
      return Promise.reject(Object.assign(new Error('Pod QoS is immutable'), { code: 422 }));
    this.requests.set(container, { ...this.requests.get(container), ...requests });
    return Promise.resolve();
  }
}

test('labels set while a patch is in flight go out merged, newest value only, after it', async () => {
  const api = new FakeApi();
  let open!: () => void;
  api.gate = new Promise((r) => (open = r));
  const w = new StatusWriter(api, silentLogger);
  const first = w.apply({ kind: 'label', pod, container: 'nginx', value: 'SCALED_DOWN' });
  await new Promise((r) => setImmediate(r)); // the first patch is on its way (held at the gate)
  const rest = [
    w.apply({ kind: 'label', pod, container: 'nginx', value: 'RUNNING' }),
    w.apply({ kind: 'label', pod, container: 'redis', value: 'SCALED_DOWN' }),
    w.apply({ kind: 'label', pod, container: 'nginx', value: 'SCALED_DOWN' }),
  ];
  open();
  await Promise.all([first, ...rest]);
  assert.deepEqual(api.patches, [
    { 'status.zeropod.ctrox.dev/nginx': 'SCALED_DOWN' },
    { 'status.zeropod.ctrox.dev/nginx': 'SCALED_DOWN', 'status.zeropod.ctrox.dev/redis': 'SCALED_DOWN' },
  ]);
});

test('a failed patch is retried with the same labels', async () => {
  const api = new FakeApi();
  api.failNext = 2;
  const w = new StatusWriter(api, silentLogger);
  await w.apply({ kind: 'label', pod, container: 'nginx', value: 'RUNNING' });
  assert.deepEqual(api.patches, [{ 'status.zeropod.ctrox.dev/nginx': 'RUNNING' }]);
});

test('after a restart: a label that disagrees is set and the missed change told; one that agrees is left', async () => {
  const api = new FakeApi();
  const w = new StatusWriter(api, silentLogger);
  const tracked = {
    counts: {
      checkpoints: 2,
      restores: 1,
      failedCheckpoints: 0,
      failedRestores: 0,
      freshStarts: 0,
      lastCheckpointMs: 150,
    },
    lastCheckpointAt: 5,
  } as Tracked;
  api.labels = { 'status.zeropod.ctrox.dev/nginx': 'RUNNING' };
  await w.apply({ kind: 'reconcile', pod, container: 'nginx', awake: false, tracked });
  assert.equal(api.labels['status.zeropod.ctrox.dev/nginx'], 'SCALED_DOWN');
  assert.deepEqual(
    api.events.map((e) => [e.reason, e.message]),
    [['Scaled down', 'Scaled down container nginx in 150 ms (seen after a manager restart)']],
  );
  await w.apply({ kind: 'reconcile', pod, container: 'nginx', awake: false, tracked });
  assert.equal(api.patches.length, 1);
  assert.equal(api.events.length, 1);
});

test('pods outside Kubernetes (no pod name) are not written', async () => {
  const api = new FakeApi();
  const w = new StatusWriter(api, silentLogger);
  await w.apply({
    kind: 'label',
    pod: { name: '', namespace: '', uid: '' },
    container: 'x',
    value: 'RUNNING',
  });
  assert.equal(api.patches.length, 0);
});

test('asleep the requests go down and the originals are kept; awake they come back and the annotations go', async () => {
  const api = new FakeApi();
  api.requests.set('nginx', { cpu: '100m', memory: '64Mi' });
  const w = new StatusWriter(api, silentLogger);
  await w.apply({ kind: 'resize', pod, container: 'nginx', asleep: true });
  assert.deepEqual(api.requests.get('nginx'), { cpu: '1m', memory: '1Ki' });
  assert.deepEqual(api.annotations, {
    'zeropod.ctrox.dev/cpu-requests': '{"nginx":"100m"}',
    'zeropod.ctrox.dev/memory-requests': '{"nginx":"64Mi"}',
  });
  await w.apply({ kind: 'resize', pod, container: 'nginx', asleep: true });
  assert.deepEqual(
    api.annotations['zeropod.ctrox.dev/cpu-requests'],
    '{"nginx":"100m"}',
    'kept, not overwritten',
  );
  await w.apply({ kind: 'resize', pod, container: 'nginx', asleep: false });
  assert.deepEqual(api.requests.get('nginx'), { cpu: '100m', memory: '64Mi' });
  assert.deepEqual(api.annotations, {});
});

test('a refused resize: a Resize failed event, the annotations as they were', async () => {
  const api = new FakeApi();
  api.requests.set('nginx', { cpu: '100m', memory: '64Mi' });
  api.refuseResize = true;
  const w = new StatusWriter(api, silentLogger);
  await w.apply({ kind: 'resize', pod, container: 'nginx', asleep: true });
  assert.deepEqual(api.requests.get('nginx'), { cpu: '100m', memory: '64Mi' });
  assert.deepEqual(api.annotations, {});
  assert.deepEqual(
    api.events.map((e) => [e.reason, e.warning]),
    [['Resize failed', true]],
  );
  assert.match(api.events[0]?.message ?? '', /refused .* while it sleeps \(HTTP 422\): .*QoS/);
});
