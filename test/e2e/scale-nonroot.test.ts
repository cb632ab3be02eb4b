/**
 * Apps that run as a non-root user: postgres (as `postgres`) and nginx (its worker as `www-data`).
 * Where root has every capability (the cgroup v2 VM, any ordinary node) they sleep and wake with
 * their state. Where root lacks CAP_SYS_RESOURCE (this project's sandbox host) CRIU cannot dump
 * them ("Can't get rlimit 0: Operation not permitted"): the runtime must say why in plain words and
 * leave the app running. Which half runs depends on the machine; the other half says why it skips.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IMAGES,
  MARKERS,
  NGINX_WWW_DATA_CONF,
  POSTGRES_UID,
  postgresVersion,
} from '../../harness/images/index.ts';
import {
  appPidsInContainer,
  bound,
  httpGetFrom,
  pidsInContainer,
  scaledStatus,
  waitForPhase,
  type ScaledStatus,
} from '../../harness/net/index.ts';

import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

/** CAP_SYS_RESOURCE (24) in this process's effective set: what CRIU needs for other users' limits. */
function rootHasSysResource(): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${hex}`) & (1n << 24n)) !== 0n;
}
const fullCaps = rootHasSysResource();
const needsFullCaps = fullCaps
  ? false
  : 'root here lacks CAP_SYS_RESOURCE, so CRIU cannot dump non-root apps (the next tests cover that)';
const needsSandbox = fullCaps
  ? 'root here has CAP_SYS_RESOURCE: non-root apps can be checkpointed (the tests above cover that)'
  : false;

/** The real uids of the container's processes (`Uid:` line, first field). */
function uidsInContainer(id: string): number[] {
  const uids: number[] = [];
  for (const pid of pidsInContainer(id)) {
    try {
      const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m?.[1] !== undefined) uids.push(Number(m[1]));
    } catch {
      // exited while we looked
    }
  }
  return uids;
}

/** psql from the client's network namespace: a real TCP client of the pod (it wakes a sleeping one). */
async function psql(ip: string, sql: string): Promise<string> {
  const bin = `/usr/lib/postgresql/${await postgresVersion('')}/bin/psql`;
  const seconds = Math.ceil(bound(60_000) / 1000);
  return new Promise((resolve, reject) => {
    execFile(
      'nsenter',
      [`--net=${f.client.netnsPath}`, bin, '-h', ip, '-U', 'postgres', '-d', 'postgres', '-XtA', '-c', sql],
      { env: { ...process.env, PGCONNECT_TIMEOUT: String(seconds) }, timeout: seconds * 2000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`psql: ${stderr || err.message}`)) : resolve(stdout.trim()),
    );
  });
}

/** Until the server accepts queries: it listens (and the shim sees its port) before recovery ends. */
async function postgresReady(ip: string): Promise<void> {
  const deadline = performance.now() + bound(120_000);
  for (;;) {
    try {
      await psql(ip, 'SELECT 1');
      return;
    } catch (err) {
      if (!/starting up/.test(String(err)) || performance.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** Polls the status API until `done` holds (bounded). */
async function waitForStatus(id: string, done: (s: ScaledStatus) => boolean): Promise<ScaledStatus> {
  const deadline = performance.now() + bound(60_000);
  let last: ScaledStatus | undefined;
  while (performance.now() < deadline) {
    last = await scaledStatus(id);
    if (last && done(last)) return last;
    await sleep(200);
  }
  throw new Error(`container ${id.slice(0, 12)}: status never matched (last: ${JSON.stringify(last)})`);
}

const DIGEST_SQL = "SELECT count(*) || ' ' || sum(id) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM t";

test(
  'postgres running as postgres keeps a 10,000-row table across a sleep and wake',
  { skip: needsFullCaps },
  async () => {
    const pod = await f.runPod({
      name: 'scale-postgres',
      handler: 'zeropod',
      annotations: scaleAnnotations('2s'),
      containers: [{ name: 'postgres', image: IMAGES.postgres }],
    });
    const id = pod.containers.get('postgres')!;
    await waitForPhase(id, 'running', bound(120_000)); // its port is known: postgres listens
    await postgresReady(pod.ip);
    const uids = uidsInContainer(id);
    assert.ok(
      uids.length > 1 && uids.every((u) => u === POSTGRES_UID),
      `every process is postgres': ${uids}`,
    );
    await psql(
      pod.ip,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 10000) g',
    );
    const before = await psql(pod.ip, DIGEST_SQL);
    assert.match(before, /^10000 50005000 [0-9a-f]{32}$/);

    const down = await waitForPhase(id, 'scaled-down', bound(60_000));
    assert.equal(down.failedCheckpoints, 0, `no failed checkpoint (${down.lastError ?? ''})`);
    assert.deepEqual(appPidsInContainer(id), [], 'postgres is not running while asleep');

    assert.equal(await psql(pod.ip, DIGEST_SQL), before, 'the same 10,000 rows after the wake');
    const s = await scaledStatus(id);
    assert.equal(
      s?.restores,
      down.restores + 1,
      'the query woke it (a slow psql start may have let it sleep once more before)',
    );
    assert.equal(s?.failedRestores, 0);
    assert.equal(s?.freshStarts, 0, 'restored, not started afresh');
    const after = uidsInContainer(id);
    assert.ok(after.length > 1 && after.every((u) => u === POSTGRES_UID), `still postgres': ${after}`);
    // The restored server sleeps again (the SysV segment the restore recreated is dumped again), and
    // the pod is removed asleep, not in the middle of a checkpoint.
    const again = await waitForPhase(id, 'scaled-down', bound(60_000));
    assert.equal(again.checkpoints, down.checkpoints + 1);
    assert.equal(again.failedCheckpoints, 0, `no failed checkpoint (${again.lastError ?? ''})`);
  },
);

const nginxWwwData = (name: string) =>
  f.runPod({
    name,
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'nginx', image: IMAGES.nginx, command: ['nginx', '-c', NGINX_WWW_DATA_CONF] }],
  });
const WWW_DATA = 33;

test('nginx with a www-data worker sleeps and wakes', { skip: needsFullCaps }, async () => {
  const pod = await nginxWwwData('scale-www-data');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'running');
  assert.ok(uidsInContainer(id).includes(WWW_DATA), 'the worker runs as www-data');
  const down = await waitForPhase(id, 'scaled-down', bound(60_000));
  assert.equal(down.failedCheckpoints, 0, `no failed checkpoint (${down.lastError ?? ''})`);
  assert.deepEqual(appPidsInContainer(id), []);
  const res = await httpGetFrom(f.client, pod.ip, 80);
  assert.equal(res.status, 200);
  assert.ok(res.body.includes(MARKERS.nginx));
  const s = await scaledStatus(id);
  assert.equal(s?.restores, down.restores + 1);
  assert.equal(s?.freshStarts, 0, 'restored, not started afresh');
  assert.ok(uidsInContainer(id).includes(WWW_DATA), 'the restored worker is www-data again');
  assert.equal(
    (await waitForPhase(id, 'scaled-down', bound(60_000))).failedCheckpoints,
    0,
    'and sleeps again',
  );
});

/** What the runtime must say: the cause in plain words, then CRIU's own line. */
const CLEAR = /runs as a non-root user.*CAP_SYS_RESOURCE/s;

test(
  "without CAP_SYS_RESOURCE, a www-data worker's checkpoint fails saying why, and nginx keeps serving",
  { skip: needsSandbox },
  async () => {
    const pod = await nginxWwwData('nonroot-www-data');
    const id = pod.containers.get('nginx')!;
    await waitForPhase(id, 'running');
    const failed = await waitForStatus(id, (s) => s.failedCheckpoints > 0);
    assert.match(failed.lastError ?? '', CLEAR, 'the cause, in plain words');
    assert.match(failed.lastError ?? '', /Can't get rlimit/, "and CRIU's own line");
    const res = await httpGetFrom(f.client, pod.ip, 80);
    assert.equal(res.status, 200, 'nginx still serves');
    assert.ok(res.body.includes(MARKERS.nginx));
    const s = await scaledStatus(id);
    assert.equal(s?.phase, 'running');
    assert.equal(s?.restores, 0, 'served by the process that never stopped');
    assert.ok(uidsInContainer(id).includes(WWW_DATA));
  },
);

test(
  "without CAP_SYS_RESOURCE, postgres' checkpoint fails saying why, and it keeps answering",
  { skip: needsSandbox },
  async () => {
    const pod = await f.runPod({
      name: 'nonroot-postgres',
      handler: 'zeropod',
      annotations: scaleAnnotations('1s'),
      containers: [{ name: 'postgres', image: IMAGES.postgres }],
    });
    const id = pod.containers.get('postgres')!;
    await waitForPhase(id, 'running');
    await postgresReady(pod.ip);
    const failed = await waitForStatus(id, (s) => s.failedCheckpoints > 0);
    assert.match(failed.lastError ?? '', CLEAR);
    assert.equal(await psql(pod.ip, 'SELECT 6 * 7'), '42', 'postgres still answers');
    assert.equal((await scaledStatus(id))?.phase, 'running');
  },
);
