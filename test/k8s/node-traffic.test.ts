/**
 * Issue 13, item 5: traffic from the node's own addresses counts as activity; only kubelet's probes
 * do not. A hostNetwork client on the node (as an ingress controller on hostNetwork, or a NodePort
 * path source-NATed to the node) sends a request every second: the pod stays awake for more than
 * twice its scale-down duration. With only kubelet's probes (liveness every 5 s, TCP readiness) it
 * falls asleep, and the probes do not wake it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { containerIdOf, example, kube } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f] = fixtures('zp-node-traffic') as [KubeFixture];
const SCALEDOWN_S = 6;

/** A busybox pod in the node's network namespace (runc: it never sleeps) that GETs `url` every second. */
const hostClient = (url: string, requests: number) => `
apiVersion: v1
kind: Pod
metadata:
  name: node-client
spec:
  hostNetwork: true
  runtimeClassName: runc
  terminationGracePeriodSeconds: 0
  containers:
    - name: client
      image: zeropod.local/busybox:1
      command: ['sh', '-c', 'for i in $(seq ${requests}); do wget -q -O /dev/null -T 5 ${url}; echo "$i $?"; sleep 1; done; sleep 3600']
`;

test("a hostNetwork client on the node keeps the pod awake; kubelet's probes alone do not", async () => {
  await f.apply(
    example('nginx-probes').replace('scaledown-duration: 10s', `scaledown-duration: ${SCALEDOWN_S}s`),
  );
  const pod = await f.rollout('nginx-probe');
  const id = containerIdOf(pod, 'nginx');
  const ip = pod.status.podIP;
  assert.ok(ip, 'the pod has an IP');

  // kubelet's probes alone: it falls asleep.
  await waitForPhase(id, 'scaled-down', 90_000);
  const before = await scaledStatus(id);
  assert.ok(before, 'the shim reports the container');

  // The node's client: its first request wakes the pod, then it keeps it awake.
  const seconds = SCALEDOWN_S * 4;
  await f.apply(hostClient(`http://${ip}/`, seconds + 30));
  await kube(['-n', f.namespace, 'wait', '--for=condition=Ready', 'pod/node-client', '--timeout=120s']);
  await waitForPhase(id, 'running', 60_000);
  const awake = await scaledStatus(id);
  assert.ok(awake && awake.restores > before.restores, "the node client's request woke it");
  // Watched for four scale-down durations: never checkpointed meanwhile.
  for (let t = 0; t < seconds; t++) {
    await sleep(1000);
    const now = await scaledStatus(id);
    assert.equal(now?.phase, 'running', `still awake ${t + 1} s into the node client's requests`);
  }
  const after = await scaledStatus(id);
  assert.equal(after?.checkpoints, awake.checkpoints, 'no checkpoint while the node client was busy');
  const served = await kube(['-n', f.namespace, 'logs', 'node-client']);
  assert.match(served.stdout, / 0\n/, 'the node client got answers');

  // The client gone, only kubelet's probes remain: asleep again, and they do not wake it.
  await kube(['-n', f.namespace, 'delete', 'pod', 'node-client', '--wait=true', '--timeout=60s']);
  await waitForPhase(id, 'scaled-down', 90_000);
  const asleep = await scaledStatus(id);
  await sleep(11_000); // two probe periods
  const later = await scaledStatus(id);
  assert.equal(later?.phase, 'scaled-down', 'the probes did not wake it');
  assert.equal(later?.restores, asleep?.restores, 'no restore from a probe');
});
