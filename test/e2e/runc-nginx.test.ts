/**
 * The ground floor: an nginx pod created through the CRI on containerd's own `runc` handler serves
 * its page to a client in the node's network; stopped and removed, nothing is left running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Cri, httpGetEventually } from '../../harness/cri/index.ts';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { mountsMentioning, pidsInContainer } from '../../harness/net/index.ts';

let cri: Cri;
before(async () => {
  cri = await Cri.connect();
});
after(() => cri.close());

test('nginx on the runc handler serves its page and leaves nothing behind', async () => {
  const pod = await cri.runPod({
    name: 'nginx-runc',
    handler: 'runc',
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });
  assert.match(pod.ip, /^10\.88\./, 'the pod gets an address on the CNI bridge');
  const res = await httpGetEventually(pod.ip, 80, '/');
  assert.equal(res.status, 200);
  assert.ok(res.body.includes(MARKERS.nginx), 'the page is our nginx image');
  const containerId = pod.containers.get('nginx')!;
  assert.ok(pidsInContainer(containerId).length >= 1, 'nginx runs in its container');

  await cri.removePod(pod);
  assert.deepEqual(pidsInContainer(containerId), [], 'no process of the container is left');
  assert.deepEqual(pidsInContainer(pod.id), [], 'no process of the sandbox is left');
  assert.deepEqual(mountsMentioning(containerId), [], 'no mount is left');
  const list = await cri.runtime.listContainers({});
  assert.ok(!list.containers.some((c) => c.id === containerId), 'the container is gone from the CRI');
  assert.ok(
    !existsSync(`/run/containerd/io.containerd.runtime.v2.task/k8s.io/${containerId}`),
    'bundle removed',
  );
});
