/**
 * nginx with scaledown-duration 1s: scales down (its processes are gone, the pod stays Running to
 * the CRI, its stats go to zero), and the next request from a client gets the page and wakes it;
 * twenty times in a row.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { appPidsInContainer, httpGetFrom, pidsInContainer, waitForPhase } from '../../harness/net/index.ts';

import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

test('nginx scales to zero and wakes on the next request, 20 cycles', async () => {
  const pod = await f.runPod({
    name: 'scale-nginx',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'running'); // its ports are known: nginx listens
  const up = await httpGetFrom(f.client, pod.ip, 80);
  assert.equal(up.status, 200);
  const awake = await f.cri.runtime.containerStats({ containerId: id });
  const rssAwake = Number(awake.stats?.memory?.rssBytes?.value ?? 0n);
  assert.ok(rssAwake > 512 * 1024, `awake, nginx's anonymous memory is reported (${rssAwake} bytes)`);

  for (let cycle = 1; cycle <= 20; cycle++) {
    const down = await waitForPhase(id, 'scaled-down');
    assert.equal(down.checkpoints, cycle, 'one checkpoint per cycle');
    assert.deepEqual(appPidsInContainer(id), [], `cycle ${cycle}: no process of the app is left`);
    if (cycle === 1) {
      const status = await f.cri.containerStatus(id);
      assert.equal(
        status.state,
        ContainerState.CONTAINER_RUNNING,
        'the CRI still sees the container running',
      );
      const { stats } = await f.cri.runtime.containerStats({ containerId: id });
      // The cgroup is kept for the prepared restore: what stays charged is its waiter (sh) and the
      // cgroup's kernel objects; nginx had ~8 MiB. Anonymous memory (the CRI's rss) is what a sleep
      // frees; the working set also counts file pages the kernel has not reclaimed yet (on cgroup v2
      // in the VM that was sometimes above 512 KiB), so it is only reported.
      const rss = Number(stats?.memory?.rssBytes?.value ?? 0n);
      const workingSet = Number(stats?.memory?.workingSetBytes?.value ?? 0n);
      assert.ok(
        rss <= 512 * 1024,
        `no more than 512 KiB of anonymous memory is charged while down, got ${rss} bytes (working set ${workingSet})`,
      );
    }
    const res = await httpGetFrom(f.client, pod.ip, 80);
    assert.equal(res.status, 200, `cycle ${cycle}: the waking request is answered`);
    assert.ok(res.body.includes(MARKERS.nginx), `cycle ${cycle}: by our nginx`);
    assert.ok(pidsInContainer(id).length > 0, `cycle ${cycle}: nginx runs again`);
  }
  const final = await waitForPhase(id, 'scaled-down');
  assert.equal(final.failedCheckpoints + final.failedRestores, 0, 'no checkpoint or restore failed');
  assert.equal(final.restores, 20);
});
