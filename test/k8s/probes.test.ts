/**
 * Seed 002's probe complaint: with kubelet's own httpGet liveness probe every 5 s and a TCP readiness
 * probe, the pod still scales down, stays asleep through the probes (they are answered without a
 * wake), no probe fails and no restart is counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { containerIdOf, example, isReady, kubeJson } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f, base] = fixtures('zp-probes', 'zp-probes-runc') as [KubeFixture, KubeFixture];

/** Probe failures and what follows them (kills, back-offs) recorded as events on a pod. */
async function probeTrouble(
  fixture: KubeFixture,
  pod: string,
): Promise<{ reason: string; message: string }[]> {
  const events = await kubeJson<{ items: { reason: string; message: string }[] }>([
    '-n',
    fixture.namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${pod}`,
  ]);
  return events.items.filter((e) => ['Unhealthy', 'Killing', 'BackOff'].includes(e.reason));
}

test('kubelet probes neither keep the pod awake nor fail nor wake it; as on runc, none fails', async () => {
  await f.apply(example('nginx-probes'));
  await base.apply(example('nginx-probes', 'runc'));
  const pod = await f.rollout('nginx-probe');
  await base.rollout('nginx-probe');
  const id = containerIdOf(pod, 'nginx');
  await waitForPhase(id, 'scaled-down', 60_000);
  // Four liveness and readiness periods asleep.
  await sleep(21_000);
  const status = await scaledStatus(id);
  assert.equal(status?.phase, 'scaled-down', 'still asleep after four probe periods');
  assert.equal(status?.restores, 0, 'no probe woke it');
  for (const fixture of [f, base]) {
    const now = await fixture.pod('nginx-probe');
    assert.ok(isReady(now), `${fixture.namespace}: Ready throughout`);
    assert.equal(
      now.status.containerStatuses?.[0]?.restartCount,
      0,
      `${fixture.namespace}: no restart counted`,
    );
    assert.deepEqual(
      await probeTrouble(fixture, now.metadata.name),
      [],
      `${fixture.namespace}: no probe failed`,
    );
  }
});
