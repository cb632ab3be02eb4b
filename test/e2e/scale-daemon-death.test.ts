/**
 * A real task death after the shim died (its keeper, docs/restart-safety.md: a worker's death alone
 * is a restart containerd does not see): containerd runs `containerd-shim-zeropod-v2 delete` for
 * each task, and for a sleeping container that removes what scale to zero kept for it (its image,
 * the restore waiter, the mounts and files in its work directory), nothing else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { IMAGES } from '../../harness/images/index.ts';
import { isRestoreWaiter, mountsMentioning, pidsInContainer, waitForPhase } from '../../harness/net/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';
import { shimPids } from './shim-helpers.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

/** Processes with an argument naming `dir` (the restore waiter, CRIU, a lazy-pages daemon). */
function processesNaming(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (
        readFileSync(`/proc/${p}/cmdline`, 'utf8')
          .split('\0')
          .some((a) => a.startsWith(dir))
      )
        out.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

test("the shim (its keeper) SIGKILLed: delete removes a sleeping container's image, waiter and work mounts", async () => {
  const pod = await f.runPod({
    name: 'scale-daemon-death',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const id = pod.containers.get('redis')!;
  await waitForPhase(id, 'scaled-down');
  const image = `/var/lib/zeropod-ts/images/k8s.io/${id}`;
  const work = `/run/zeropod/work/${id}`;
  assert.ok(existsSync(image), 'asleep: the image is there');
  assert.ok(pidsInContainer(id).some(isRestoreWaiter), 'asleep: the restore waiter is ready');
  assert.ok(mountsMentioning(work).length > 0, 'asleep: tmpfs copies are mounted in the work directory');

  const shims = shimPids(pod);
  assert.equal(shims.length, 1);
  process.kill(shims[0]!, 'SIGKILL');
  const status = await f.cri.waitForExit(id);
  assert.equal(status.exitCode, 255, 'containerd saw the task die with its daemon');
  // containerd's `delete` runs right after it saw the connection close; give it a bounded moment.
  for (let i = 0; i < 100 && (existsSync(image) || existsSync(work)); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(image), false, 'the image is removed');
  assert.equal(existsSync(work), false, 'the work directory is removed');
  assert.deepEqual(mountsMentioning(work), [], 'no mount is left in it');
  assert.deepEqual(processesNaming(work), [], 'no helper naming it is left');
  assert.deepEqual(pidsInContainer(id), [], 'nothing runs in the container');
});
