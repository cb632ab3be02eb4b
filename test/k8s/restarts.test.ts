/**
 * A container that exits, and one that is OOM-killed, are restarted by kubelet exactly as on `runc`:
 * the same exit code and reason in lastState, and the restart counted. Both are scaling containers
 * (the annotation is set), so the shim's scale decorator is in the path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { IMAGES } from '../../harness/images/index.ts';
import type { PodInfo } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const deployment = (name: string, runtimeClass: string, command: string, limits = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
      annotations: { zeropod.ctrox.dev/scaledown-duration: 10s }
    spec:
      runtimeClassName: ${runtimeClass}
      containers:
        - name: main
          image: ${IMAGES.busybox}
          command: ["sh", "-c", ${JSON.stringify(command)}]
          ports: [{ containerPort: 8080 }]
          ${limits}
`;
const EXITS = 'httpd -p 8080 -h /www; echo started; sleep 2; exit 3';
const OOMS = 'echo started; tail /dev/zero';
const LIMIT = 'resources: { limits: { memory: 32Mi } }';

const [ours, runc] = fixtures('zp-restarts', 'zp-restarts-runc') as [KubeFixture, KubeFixture];
const byClass = { zeropod: ours, runc };

interface Terminated {
  reason?: string | undefined;
  exitCode?: number | undefined;
}

async function firstRestart(f: KubeFixture, app: string): Promise<{ restarts: number; last: Terminated }> {
  for (let i = 0; i < 120; i++) {
    let pod: PodInfo | undefined;
    try {
      pod = await f.pod(app);
    } catch {
      pod = undefined; // not created yet
    }
    const c = pod?.status.containerStatuses?.[0];
    const last = c?.lastState?.['terminated'];
    if (c && c.restartCount >= 1 && last) return { restarts: c.restartCount, last };
    await sleep(500);
  }
  throw new Error(`${app} in ${f.namespace} was not restarted within 60 s`);
}

for (const [what, command, limits, expected] of [
  ['exits with 3', EXITS, '', { reason: 'Error', exitCode: 3 }],
  ['is OOM-killed', OOMS, LIMIT, { reason: 'OOMKilled', exitCode: 137 }],
] as const) {
  test(`a container that ${what} is restarted as on runc`, async () => {
    const app = what.startsWith('exits') ? 'exits' : 'ooms';
    const seen: Record<string, Terminated> = {};
    for (const [runtimeClass, f] of Object.entries(byClass)) {
      await f.apply(deployment(app, runtimeClass, command, limits));
    }
    for (const [runtimeClass, f] of Object.entries(byClass)) {
      const { restarts, last } = await firstRestart(f, app);
      assert.ok(restarts >= 1);
      seen[runtimeClass] = { reason: last.reason, exitCode: last.exitCode };
    }
    assert.deepEqual(seen['runc'], expected, 'the runc baseline');
    assert.deepEqual(seen['zeropod'], seen['runc'], 'zeropod reports what runc reports');
  });
}
