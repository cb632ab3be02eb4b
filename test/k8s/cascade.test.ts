/**
 * Seed 002's cascade: an app calling its database by Service name, both asleep; one request wakes the
 * app, whose call wakes the database, and the answer carries the database's memory (a counter kept
 * across the sleeps). Then deleting the Deployments leaves no image, mount, process or cgroup behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  httpGetFrom,
  mountsMentioning,
  pidsInContainer,
  scaledStatus,
  waitForPhase,
} from '../../harness/net/index.ts';
import { containerIdOf, example, kube, kubeJson } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f] = fixtures('zp-cascade') as [KubeFixture];

test('one request wakes the app and, through it, the database; both keep their memory', async () => {
  await f.apply(example('cascade'));
  const app = await f.rollout('hits');
  const db = await f.rollout('redis');
  const appId = containerIdOf(app, 'hits');
  const dbId = containerIdOf(db, 'redis');
  const svc = await kubeJson<{ spec: { clusterIP: string } }>(['-n', f.namespace, 'get', 'service', 'hits']);

  for (let cycle = 1; cycle <= 2; cycle++) {
    await Promise.all([
      waitForPhase(appId, 'scaled-down', 60_000),
      waitForPhase(dbId, 'scaled-down', 60_000),
    ]);
    const t0 = performance.now();
    const r = await httpGetFrom(f.client, svc.spec.clusterIP, 80, '/cgi-bin/hits', 30_000);
    const ms = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.match(r.body, new RegExp(`^hits ${cycle}$`, 'm'), 'the counter survived the database sleeping');
    assert.equal((await scaledStatus(appId))?.restores, cycle);
    assert.equal((await scaledStatus(dbId))?.restores, cycle);
    console.log(`# cascade wake ${cycle}: app and database asleep -> answer in ${ms.toFixed(0)} ms`);
  }
});

test('deleting the Deployments leaves no image, mount, process or cgroup', async () => {
  const pods = [await f.pod('hits'), await f.pod('redis')];
  const ids = [containerIdOf(pods[0]!, 'hits'), containerIdOf(pods[1]!, 'redis')];
  // One asleep, so its image exists when it is deleted.
  await waitForPhase(ids[1]!, 'scaled-down', 60_000);
  assert.ok(existsSync(`/var/lib/zeropod-ts/images/k8s.io/${ids[1]}`), 'the sleeping database has an image');
  await kube(['-n', f.namespace, 'delete', 'deployment', 'hits', 'redis', '--wait=true']);
  for (const p of pods) {
    await kube(['-n', f.namespace, 'wait', '--for=delete', `pod/${p.metadata.name}`, '--timeout=120s'], {
      check: false,
    });
  }
  // Removal is asynchronous in places (kubelet's cgroup cleanup): look for up to 20 s.
  let leftovers: string[] = [];
  for (let i = 0; i < 40; i++) {
    leftovers = [];
    for (const [n, id] of ids.entries()) {
      if (existsSync(`/var/lib/zeropod-ts/images/k8s.io/${id}`)) leftovers.push(`image ${id}`);
      leftovers.push(...mountsMentioning(id).map((m) => `mount ${m}`));
      leftovers.push(...pidsInContainer(id).map((p) => `process ${p}`));
      leftovers.push(...cgroupsOf(pods[n]!.metadata.uid).map((c) => `cgroup ${c}`));
    }
    if (leftovers.length === 0) break;
    await sleep(500);
  }
  assert.deepEqual(leftovers, []);
});

/** Pod cgroups (kubelet's cgroupfs layout: .../pod<uid>) under every v1 hierarchy. */
function cgroupsOf(uid: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === `pod${uid}`) found.push(`${dir}/${e}`);
      else walk(`${dir}/${e}`, depth + 1);
    }
  };
  for (const ctrl of readdirSync('/sys/fs/cgroup')) walk(`/sys/fs/cgroup/${ctrl}/zeropod-ts`, 0);
  return found;
}
