/**
 * The ground floor: an nginx pod created through the CRI on containerd's own `runc` handler serves
 * its page to a client in the node's network; stopped and removed, nothing is left running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Cri, httpGetEventually } from '../../harness/cri/index.ts';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';

let cri: Cri;
before(async () => {
  cri = await Cri.connect();
});
after(() => cri.close());

/** Pids whose command line mentions `needle` (the environment has its own /proc). */
function pidsOf(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

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
  assert.ok(pidsOf('nginx: master').length >= 1, 'nginx runs in this environment');

  const containerId = pod.containers.get('nginx')!;
  await cri.removePod(pod);
  assert.deepEqual(pidsOf('nginx: master'), [], 'no nginx process is left');
  assert.deepEqual(pidsOf(pod.id), [], 'no shim or pause process of the pod is left');
  const list = await cri.runtime.listContainers({});
  assert.ok(!list.containers.some((c) => c.id === containerId), 'the container is gone from the CRI');
  assert.ok(!existsSync(`/run/containerd/io.containerd.runtime.v2.task/k8s.io/${containerId}`), 'bundle removed');
});
