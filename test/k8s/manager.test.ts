/**
 * zeropod-manager as a DaemonSet (deploy/manager) on the node's real API server and kubelet: the pod
 * label status.zeropod.ctrox.dev/<container> follows the runtime's phases within a second, events
 * carry the original's reasons with durations, the metrics on the node's address count every cycle,
 * a failing checkpoint is reported as such, and a manager that was away catches up when it is back
 * (labels, events, metrics) without touching the workload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { paths } from '../../harness/env/index.ts';
import { httpGetFrom, nextPhaseChange, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import {
  CLUSTER,
  containerIdOf,
  example,
  isReady,
  kube,
  kubeconfigHere,
  kubeJson,
} from '../../harness/k8s/index.ts';
import { listenInNetns } from '../../src/netns/index.ts';
import { KubeFixture } from './fixture.ts';

const f = new KubeFixture('zp-manager');
const MANAGER = path.join(paths.project, 'deploy/manager');
const LABEL = 'status.zeropod.ctrox.dev/';

let core: CoreV1Api;
before(async () => {
  await f.setUp();
  await kube(['apply', '-k', MANAGER]);
  await managerReady();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigHere());
  core = kc.makeApiClient(CoreV1Api);
});
after(async () => {
  await f.tearDown();
  await kube(['delete', '-k', MANAGER, '--wait=true', '--timeout=120s'], { check: false });
});

async function managerReady(): Promise<void> {
  await kube(['-n', 'zeropod-system', 'rollout', 'status', 'daemonset/zeropod-manager', '--timeout=120s']);
}

async function labelOf(pod: string, container: string): Promise<string | undefined> {
  const p = await core.readNamespacedPod({ name: pod, namespace: f.namespace });
  return p.metadata?.labels?.[LABEL + container];
}

/** Polls the API server (every 20 ms, up to `withinMs`) for the label; returns its last value. */
async function untilLabel(pod: string, container: string, value: string, withinMs: number) {
  const deadline = performance.now() + withinMs;
  let last: string | undefined;
  do {
    last = await labelOf(pod, container);
    if (last === value) return last;
    await new Promise((r) => setTimeout(r, 20));
  } while (performance.now() < deadline);
  return last;
}

interface KubeEvent {
  reason: string;
  message: string;
  type: string;
  source?: { component?: string };
}

async function managerEvents(pod: string): Promise<KubeEvent[]> {
  const list = await kubeJson<{ items: KubeEvent[] }>([
    '-n',
    f.namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${pod}`,
  ]);
  return list.items.filter((e) => e.source?.component === 'zeropod.ctrox.dev/manager');
}

async function untilEvent(pod: string, pred: (e: KubeEvent) => boolean, what: string): Promise<KubeEvent> {
  for (let i = 0; i < 50; i++) {
    const found = (await managerEvents(pod)).find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`no ${what} event on ${pod}: ${JSON.stringify(await managerEvents(pod))}`);
}

/** One sample from the manager's metrics on the node's address (it runs on hostNetwork). */
async function metric(name: string, pod: string, container: string): Promise<number | undefined> {
  const res = await fetch(`http://${CLUSTER.nodeIp}:8080/metrics`);
  const text = await res.text();
  const series = `${name}{container="${container}",pod="${pod}",namespace="${f.namespace}"} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

/** Polls (bounded) until the metric equals what `expected` reads from the runtime now. */
async function metricMatches(
  name: string,
  pod: string,
  container: string,
  expected: () => Promise<number>,
): Promise<void> {
  let got: number | undefined;
  let want = NaN;
  for (let i = 0; i < 50; i++) {
    want = await expected();
    got = await metric(name, pod, container);
    if (got === want) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(got, want, `${name} of ${pod}`);
}

test('labels follow the phases within a second; events and metrics count each sleep and wake', async () => {
  await f.apply(example('nginx'));
  const pod = await f.rollout('nginx');
  const name = pod.metadata.name;
  const id = containerIdOf(pod, 'nginx');
  assert.equal(await untilLabel(name, 'nginx', 'RUNNING', 30_000), 'RUNNING');

  await nextPhaseChange(id, 'scaled-down', 60_000);
  assert.equal(
    await untilLabel(name, 'nginx', 'SCALED_DOWN', 1000),
    'SCALED_DOWN',
    'the label says SCALED_DOWN within 1 s of the runtime',
  );
  const woke = nextPhaseChange(id, 'running', 30_000);
  const r = await httpGetFrom(f.client, pod.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
  await woke;
  assert.equal(
    await untilLabel(name, 'nginx', 'RUNNING', 1000),
    'RUNNING',
    'the label says RUNNING within 1 s of the runtime',
  );

  const down = await untilEvent(name, (e) => e.reason === 'Scaled down', 'Scaled down');
  assert.match(down.message, /^Scaled down container nginx in \d+ ms$/);
  const up = await untilEvent(name, (e) => e.reason === 'Running', 'Running');
  assert.match(up.message, /^Restored container nginx in \d+ ms$/);

  const shim = async () => (await scaledStatus(id))!;
  await metricMatches(
    'zeropod_checkpoint_duration_seconds_count',
    name,
    'nginx',
    async () => (await shim()).checkpoints,
  );
  await metricMatches(
    'zeropod_restore_duration_seconds_count',
    name,
    'nginx',
    async () => (await shim()).restores,
  );
  assert.equal(await metric('zeropod_restore_duration_seconds_count', name, 'nginx'), 1);
  assert.equal(await metric('zeropod_running', name, 'nginx'), 1);
  assert.equal(await metric('zeropod_checkpoint_errors_total', name, 'nginx'), 0);
  assert.equal(await metric('zeropod_memory_freed_bytes', name, 'nginx'), 0, 'awake: nothing freed');
});

// Node.js 24 creates io_uring instances that CRIU cannot dump; without the seccomp rule that turns
// io_uring off (see harness/images/specs.ts), every checkpoint of this app fails: a real failure.
const FAILING = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: uring
spec:
  replicas: 1
  selector:
    matchLabels:
      app: uring
  template:
    metadata:
      annotations:
        zeropod.ctrox.dev/scaledown-duration: 2s
      labels:
        app: uring
    spec:
      runtimeClassName: zeropod
      containers:
        - image: zeropod.local/node-app:1
          name: app
          ports:
            - containerPort: 8080
`;

test('a checkpoint that fails: label CHECKPOINT_FAILED, a Checkpoint failed event, the error counter', async () => {
  await f.apply(FAILING);
  const pod = await f.rollout('uring');
  const name = pod.metadata.name;
  const id = containerIdOf(pod, 'app');
  assert.equal(await untilLabel(name, 'app', 'CHECKPOINT_FAILED', 60_000), 'CHECKPOINT_FAILED');
  const failed = await untilEvent(name, (e) => e.reason === 'Checkpoint failed', 'Checkpoint failed');
  assert.equal(failed.type, 'Warning');
  assert.match(failed.message, /^Checkpoint failed for container app: .*criu/);
  await metricMatches(
    'zeropod_checkpoint_errors_total',
    name,
    'app',
    async () => (await scaledStatus(id))!.failedCheckpoints,
  );
  assert.equal(await metric('zeropod_running', name, 'app'), 1, 'the app keeps running');
  const now = await f.pod('uring');
  assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0);
  await kube(['-n', f.namespace, 'delete', 'deployment', 'uring', '--wait=true']);
});

test('a manager that was away catches up when it is back: labels, events, metrics; the workload untouched', async () => {
  const before = await f.pod('nginx');
  const name = before.metadata.name;
  const id = containerIdOf(before, 'nginx');
  assert.equal(await labelOf(name, 'nginx'), 'RUNNING');

  // Away: the DaemonSet selects no node, so its pod is deleted and none replaces it.
  const select = (value: string) =>
    kube([
      '-n',
      'zeropod-system',
      'patch',
      'daemonset',
      'zeropod-manager',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'zeropod.ctrox.dev/node': value } } } } }),
    ]);
  await select('nowhere');
  await kube([
    '-n',
    'zeropod-system',
    'wait',
    '--for=delete',
    'pod',
    '-l',
    'app.kubernetes.io/name=zeropod-manager',
    '--timeout=60s',
  ]);
  await waitForPhase(id, 'scaled-down', 60_000);
  assert.equal(await labelOf(name, 'nginx'), 'RUNNING', 'nobody updated the label meanwhile');
  const eventsBefore = (await managerEvents(name)).filter((e) => e.reason === 'Scaled down').length;

  await select('true');
  await managerReady();
  assert.equal(await untilLabel(name, 'nginx', 'SCALED_DOWN', 30_000), 'SCALED_DOWN');
  const caught = await untilEvent(
    name,
    (e) => e.reason === 'Scaled down' && e.message.includes('seen after a manager restart'),
    'catch-up Scaled down',
  );
  assert.match(caught.message, /in \d+ ms/);
  assert.equal(
    (await managerEvents(name)).filter((e) => e.reason === 'Scaled down').length,
    eventsBefore + 1,
  );
  const shim = (await scaledStatus(id))!;
  assert.equal(shim.checkpoints, 2);
  await metricMatches('zeropod_checkpoint_duration_seconds_count', name, 'nginx', () => Promise.resolve(2));
  assert.equal(await metric('zeropod_restore_duration_seconds_count', name, 'nginx'), 1);
  assert.equal(await metric('zeropod_running', name, 'nginx'), 0);
  assert.ok(((await metric('zeropod_memory_freed_bytes', name, 'nginx')) ?? 0) > 0, 'memory freed asleep');

  const now = await f.pod('nginx');
  assert.equal(now.metadata.uid, before.metadata.uid, 'the same pod');
  assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0, 'never restarted');
  assert.ok(isReady(now));
});

const sized = (name: string, resources: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      annotations:
        zeropod.ctrox.dev/scaledown-duration: 3s
      labels:
        app: ${name}
    spec:
      runtimeClassName: zeropod
      containers:
        - image: zeropod.local/nginx:1
          name: nginx
          ports:
            - containerPort: 80
          resources:
${resources}
`;

async function requestsOf(pod: string) {
  const p = await core.readNamespacedPod({ name: pod, namespace: f.namespace });
  const r = p.spec?.containers[0]?.resources?.requests ?? {};
  return { cpu: String(r['cpu']), memory: String(r['memory']), annotations: p.metadata?.annotations ?? {} };
}

/** Until the requests read cpu/memory and the kept originals are there (asleep) or gone (awake). */
async function untilRequests(pod: string, cpu: string, memory: string) {
  const asleep = cpu === '1m';
  for (let i = 0; i < 150; i++) {
    const now = await requestsOf(pod);
    const kept = now.annotations['zeropod.ctrox.dev/cpu-requests'] !== undefined;
    if (now.cpu === cpu && now.memory === memory && kept === asleep) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
  return requestsOf(pod);
}

test('asleep, requests read 1m / 1Ki through the API (originals kept in annotations); after the wake the originals; no restart', async () => {
  await f.apply(
    sized('sized', '            requests: {cpu: 100m, memory: 64Mi}\n            limits: {memory: 128Mi}'),
  );
  const pod = await f.rollout('sized');
  const name = pod.metadata.name;
  const id = containerIdOf(pod, 'nginx');
  await waitForPhase(id, 'scaled-down', 60_000);
  const asleep = await untilRequests(name, '1m', '1Ki');
  assert.deepEqual([asleep.cpu, asleep.memory], ['1m', '1Ki']);
  assert.equal(asleep.annotations['zeropod.ctrox.dev/cpu-requests'], '{"nginx":"100m"}');
  assert.equal(asleep.annotations['zeropod.ctrox.dev/memory-requests'], '{"nginx":"64Mi"}');

  const r = await httpGetFrom(f.client, pod.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
  const awake = await untilRequests(name, '100m', '64Mi');
  assert.deepEqual([awake.cpu, awake.memory], ['100m', '64Mi']);
  assert.equal(awake.annotations['zeropod.ctrox.dev/cpu-requests'], undefined);
  const now = await f.pod('sized');
  assert.equal(now.metadata.uid, pod.metadata.uid);
  assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0, 'the resize restarted nothing');
  assert.ok((await scaledStatus(id))!.restores >= 1);
});

test('a Guaranteed pod cannot lower its requests (its QoS class would change): a Resize failed event', async () => {
  await f.apply(
    sized(
      'guaranteed',
      '            requests: {cpu: 100m, memory: 64Mi}\n            limits: {cpu: 100m, memory: 64Mi}',
    ),
  );
  const pod = await f.rollout('guaranteed');
  const name = pod.metadata.name;
  await waitForPhase(containerIdOf(pod, 'nginx'), 'scaled-down', 60_000);
  const refused = await untilEvent(name, (e) => e.reason === 'Resize failed', 'Resize failed');
  assert.equal(refused.type, 'Warning');
  assert.match(refused.message, /refused .* while it sleeps \(HTTP 4\d\d\)/);
  const now = await requestsOf(name);
  assert.deepEqual([now.cpu, now.memory], ['100m', '64Mi']);
  assert.equal(now.annotations['zeropod.ctrox.dev/cpu-requests'], undefined, 'no originals left behind');
});

/** busybox: httpd on 8080 to wake it by, and an idle connection of its own to the client host. */
const outbound = (server: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: outbound
spec:
  replicas: 1
  selector:
    matchLabels:
      app: outbound
  template:
    metadata:
      annotations:
        zeropod.ctrox.dev/scaledown-duration: 3s
      labels:
        app: outbound
    spec:
      runtimeClassName: zeropod
      containers:
        - image: zeropod.local/busybox:1
          name: app
          command: ['sh', '-c', 'httpd -p 8080 -h /tmp; sleep 3600 | nc ${server} 9000']
`;

test('connections held while asleep and the wake latency clients saw, as the shim counts them', async () => {
  // The app's own connection (to its database, say) is dumped open and held while it sleeps.
  const server = await listenInNetns(f.client.netnsPath, { host: f.client.address, port: 9000 });
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  try {
    await f.apply(outbound(f.client.address));
    const pod = await f.rollout('outbound');
    const name = pod.metadata.name;
    const id = containerIdOf(pod, 'app');
    const peer = await accepted;
    peer.on('error', () => undefined);
    await nextPhaseChange(id, 'scaled-down', 60_000);
    const shim = async () => (await scaledStatus(id))!;
    assert.equal((await shim()).connectionsHeld, 1, "the shim holds the app's connection");
    await metricMatches(
      'zeropod_connections_held',
      name,
      'app',
      async () => (await shim()).connectionsHeld ?? -1,
    );
    assert.equal(await metric('zeropod_connections_held', name, 'app'), 1);
    const before = (await shim()).clientWakes ?? 0;
    const woke = nextPhaseChange(id, 'running', 30_000);
    const res = await httpGetFrom(f.client, pod.status.podIP!, 8080, '/', 20_000);
    assert.ok(res.status >= 200 && res.status < 500, `httpd answers (${res.status})`);
    await woke;
    assert.equal((await shim()).clientWakes, before + 1, 'one more client waited for a wake');
    await metricMatches(
      'zeropod_wake_latency_seconds_count',
      name,
      'app',
      async () => (await shim()).clientWakes ?? -1,
    );
    assert.ok((await metric('zeropod_wake_latency_seconds_sum', name, 'app'))! > 0, 'latencies observed');
    await metricMatches(
      'zeropod_connections_held',
      name,
      'app',
      async () => (await shim()).connectionsHeld ?? -1,
    );
    assert.equal(await metric('zeropod_connections_held', name, 'app'), 0, 'awake: nothing held');
    // Whether the connection itself lives on after the wake is scale-connections.test.ts's (e2e);
    // here busybox nc's was seen closed right after the restore (not yet understood).
    peer.destroy();
  } finally {
    server.close();
  }
});
