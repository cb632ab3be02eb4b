/**
 * `zeropod.ctrox.dev/pre-dump`: with a kernel that tracks dirty pages (the cgroup v2 VM: Debian's
 * kernel), the memory is copied while redis runs and the final dump names that copy as its parent;
 * without it (this machine: CONFIG_MEM_SOFT_DIRTY off) the dump is a plain one. Either way the data
 * is back after every wake. The time the app is frozen, with and without, is measured by
 * bench/vm-pre-dump.ts (never asserted here).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { redisCommand, waitForPhase, appPidsInContainer } from '../../harness/net/index.ts';
import { dialInNetns } from '../../src/netns/index.ts';
import { criuSupportsDirtyTracking } from '../../src/criu/index.ts';
import { imageRootOf } from '../../src/shim/scale/index.ts';
import { pagesBytes } from '../../src/shim/scale/processes-and-images.ts';
import { IMAGES } from '../../harness/images/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

// Idle long enough for DEBUG DIGEST, which sends nothing while it walks ~100 MB (tens of seconds
// under emulation, more while lazy pages stream in): a pod that slept mid-command would hold the
// reply until the next connection woke it.
const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

async function redis(ip: string, ...args: string[]): Promise<string> {
  const sock = await dialInNetns(f.client.netnsPath, { host: ip, port: 6379 }, AbortSignal.timeout(30_000));
  try {
    // Emulated (the VM) DEBUG POPULATE of ~100 MB takes many seconds: behaviour is asserted, not time.
    return await redisCommand(sock, args, 300_000);
  } finally {
    sock.destroy();
  }
}

test('redis with ~100 MB sleeps and wakes twice with pre-dump: the dump names the copy made while it ran', async () => {
  const tracking = await criuSupportsDirtyTracking();
  const pod = await f.runPod({
    name: 'scale-pre-dump',
    handler: 'zeropod',
    annotations: scaleAnnotations('45s', {
      'zeropod.ctrox.dev/pre-dump': 'true',
      // A connection made right after a wake may still reach the activator, which proxies it and
      // cuts it after proxy-timeout (5 s) of silence: DIGEST is silent longer than that here.
      'zeropod.ctrox.dev/proxy-timeout': '10m',
    }),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const id = pod.containers.get('redis')!;
  const image = path.join(imageRootOf('k8s.io'), id);
  await waitForPhase(id, 'running', 120_000);
  assert.equal(await redis(pod.ip, 'DEBUG', 'POPULATE', '100000', 'big', '1000'), '+OK');
  const digest = await redis(pod.ip, 'DEBUG', 'DIGEST');
  for (let cycle = 1; cycle <= 2; cycle++) {
    const asleep = await waitForPhase(id, 'scaled-down', 600_000);
    assert.equal(asleep.failedCheckpoints, 0, asleep.lastError);
    assert.deepEqual(appPidsInContainer(id), []);
    const parent = path.join(image, 'parent');
    if (tracking) {
      // The final dump refers to the last round; round 1 holds the bulk of the memory.
      assert.match(readlinkSync(parent), /^pre-\d$/, `cycle ${cycle}: the final image names its parent`);
      assert.ok(existsSync(path.join(image, 'pre-1')), `cycle ${cycle}: round 1 is in the image`);
      const own = pagesBytes(image) - pagesBytes(path.join(image, readlinkSync(parent)));
      assert.ok(
        own < pagesBytes(path.join(image, 'pre-1')) / 4,
        `cycle ${cycle}: the final dump wrote less than a quarter of the copy (${own} B)`,
      );
    } else {
      assert.equal(existsSync(parent), false, 'no soft-dirty tracking: a plain dump');
    }
    assert.ok(pagesBytes(image) > 100e6, `cycle ${cycle}: the whole memory is in the image chain`);
    assert.equal(await redis(pod.ip, 'DBSIZE'), ':100000', `cycle ${cycle}: every key is back`);
    const awake = await waitForPhase(id, 'running', 120_000);
    assert.equal(awake.freshStarts ?? 0, 0, 'restored, not started afresh');
    assert.equal(awake.restores, cycle);
    const after = await redis(pod.ip, 'DEBUG', 'DIGEST');
    assert.equal(after, digest, `cycle ${cycle}: every page is intact`);
    // Written while awake: the next cycle's copy must carry it.
    assert.equal(await redis(pod.ip, 'SET', `cycle-${cycle}`, 'x'), '+OK');
    assert.equal(await redis(pod.ip, 'DEL', `cycle-${cycle}`), ':1');
  }
});
