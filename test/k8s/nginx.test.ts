/**
 * Seed 002's first test through kubelet: an nginx Deployment on the `zeropod` RuntimeClass sleeps after
 * 10 s without traffic while Kubernetes keeps seeing it Running and Ready, and a request to its pod IP
 * or to its ClusterIP Service wakes it. The same manifest on `runc` is the baseline: it never sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MARKERS } from '../../harness/images/index.ts';
import { appPidsInContainer, httpGetFrom, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { containerIdOf, example, isReady, kubeJson } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f, base] = fixtures('zp-nginx', 'zp-nginx-runc') as [KubeFixture, KubeFixture];

test('asleep, the pod stays Running and Ready; its pod IP and its Service wake it', async () => {
  await f.apply(example('nginx'));
  const pod = await f.rollout('nginx');
  const id = containerIdOf(pod, 'nginx');
  await waitForPhase(id, 'scaled-down', 60_000);
  assert.deepEqual(appPidsInContainer(id), [], 'no nginx process while asleep');
  const asleep = await f.pod('nginx');
  assert.equal(asleep.status.phase, 'Running');
  assert.ok(isReady(asleep), 'Ready while asleep');

  const viaPodIp = await httpGetFrom(f.client, pod.status.podIP!, 80, '/', 20_000);
  assert.equal(viaPodIp.status, 200);
  assert.ok(viaPodIp.body.includes(MARKERS.nginx));
  assert.equal((await scaledStatus(id))?.restores, 1, 'the request to the pod IP woke it');

  await waitForPhase(id, 'scaled-down', 60_000);
  const svc = await kubeJson<{ spec: { clusterIP: string } }>(['-n', f.namespace, 'get', 'service', 'nginx']);
  const viaService = await httpGetFrom(f.client, svc.spec.clusterIP, 80, '/', 20_000);
  assert.equal(viaService.status, 200);
  assert.ok(viaService.body.includes(MARKERS.nginx));
  assert.equal((await scaledStatus(id))?.restores, 2, 'the request to the ClusterIP woke it');

  const after = await f.pod('nginx');
  assert.equal(after.status.containerStatuses?.[0]?.restartCount, 0, 'no restart counted');
});

test('baseline: the same manifest on the runc RuntimeClass serves and never sleeps', async () => {
  await base.apply(example('nginx', 'runc'));
  const pod = await base.rollout('nginx');
  const id = containerIdOf(pod, 'nginx');
  const r = await httpGetFrom(base.client, pod.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
  assert.ok(r.body.includes(MARKERS.nginx));
  assert.equal(await scaledStatus(id), undefined, 'a runc pod is not known to the zeropod shim');
  assert.ok(appPidsInContainer(id).length > 0);
});
