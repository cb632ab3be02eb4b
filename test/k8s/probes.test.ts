/**
 * Seed 002's probe complaint: with kubelet's own httpGet liveness probe every 5 s and a TCP readiness
 * probe, the pod still scales down, stays asleep through the probes (they are answered without a
 * wake), no probe fails and no restart is counted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { containerIdOf, example, isReady, kubeJson } from '../../harness/k8s/index.ts';
import { KubeFixture } from './fixture.ts';

const f = new KubeFixture('zp-probes');
before(() => f.setUp());
after(() => f.tearDown());

test('kubelet probes neither keep the pod awake nor fail nor wake it', async () => {
  await f.apply(example('nginx-probes'));
  const pod = await f.rollout('nginx-probe');
  const id = containerIdOf(pod, 'nginx');
  await waitForPhase(id, 'scaled-down', 60_000);
  // Four liveness and readiness periods asleep.
  await sleep(21_000);
  const status = await scaledStatus(id);
  assert.equal(status?.phase, 'scaled-down', 'still asleep after four probe periods');
  assert.equal(status?.restores, 0, 'no probe woke it');
  const now = await f.pod('nginx-probe');
  assert.ok(isReady(now), 'Ready throughout');
  assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0, 'no restart counted');
  const events = await kubeJson<{ items: { reason: string; message: string }[] }>([
    '-n',
    f.namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${now.metadata.name}`,
  ]);
  const bad = events.items.filter((e) => ['Unhealthy', 'Killing', 'BackOff'].includes(e.reason));
  assert.deepEqual(bad, [], 'no probe failed');
});
