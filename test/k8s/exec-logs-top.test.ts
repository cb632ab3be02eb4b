/**
 * What a user does with a sleeping pod through kubectl: `exec` wakes it, `logs` shows lines written
 * before and after the sleep, and its resource usage (kubelet's summary API, which metrics-server and
 * `kubectl top` read) drops to about nothing while it sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGetFrom, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { CLUSTER, containerIdOf, example, kube } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f, base] = fixtures('zp-exec-logs', 'zp-exec-logs-runc') as [KubeFixture, KubeFixture];

interface Summary {
  pods: {
    podRef: { name: string; namespace: string };
    containers?: { name: string; memory?: { workingSetBytes?: number } }[];
  }[];
}

async function workingSet(pod: string): Promise<number | undefined> {
  const raw = await kube(['get', '--raw', `/api/v1/nodes/${CLUSTER.nodeName}/proxy/stats/summary`]);
  const s = JSON.parse(raw.stdout) as Summary;
  const entry = s.pods.find((p) => p.podRef.name === pod && p.podRef.namespace === f.namespace);
  return entry?.containers?.find((c) => c.name === 'httpd')?.memory?.workingSetBytes;
}

test('exec wakes a sleeping pod; logs span the sleep; usage drops while asleep', async () => {
  await f.apply(example('echo-log'));
  const pod = await f.rollout('echo-log');
  const name = pod.metadata.name;
  const id = containerIdOf(pod, 'httpd');
  assert.equal((await httpGetFrom(f.client, pod.status.podIP!, 8080, '/before-sleep', 20_000)).status, 404);
  await waitForPhase(id, 'scaled-down', 60_000);

  // kubelet's stats come from the runtime: read them until they describe the sleeping container.
  let asleepBytes: number | undefined;
  for (let i = 0; i < 40 && (asleepBytes === undefined || asleepBytes > 4 * 2 ** 20); i++) {
    asleepBytes = await workingSet(name);
    if (asleepBytes === undefined || asleepBytes > 4 * 2 ** 20) await new Promise((r) => setTimeout(r, 1000));
  }
  assert.ok(
    asleepBytes !== undefined && asleepBytes <= 4 * 2 ** 20,
    `working set while asleep: ${asleepBytes}`,
  );

  const out = await kube(['-n', f.namespace, 'exec', name, '--', 'echo', 'hello from exec']);
  assert.equal(out.stdout.trim(), 'hello from exec');
  const woke = await scaledStatus(id);
  assert.equal(woke?.restores, 1, 'exec woke it');

  assert.equal((await httpGetFrom(f.client, pod.status.podIP!, 8080, '/after-wake', 20_000)).status, 404);
  const logs = (await kube(['-n', f.namespace, 'logs', name])).stdout;
  assert.match(logs, /GET \/before-sleep/);
  assert.match(logs, /GET \/after-wake/);
  const restarted = await f.pod('echo-log');
  assert.equal(restarted.status.containerStatuses?.[0]?.restartCount, 0);
});

test('baseline: exec and logs on the runc RuntimeClass', async () => {
  await base.apply(example('echo-log', 'runc'));
  const pod = await base.rollout('echo-log');
  assert.equal((await httpGetFrom(base.client, pod.status.podIP!, 8080, '/on-runc', 20_000)).status, 404);
  const out = await kube(['-n', base.namespace, 'exec', pod.metadata.name, '--', 'echo', 'hello from exec']);
  assert.equal(out.stdout.trim(), 'hello from exec');
  const logs = (await kube(['-n', base.namespace, 'logs', pod.metadata.name])).stdout;
  assert.match(logs, /GET \/on-runc/);
});
