/**
 * The worker SIGKILLed at the worst moments (docs/restart-safety.md): while a checkpoint is being
 * written, and while a wake is in flight. The three pods of restart-safe.test.ts (redis going to
 * sleep with 100,000 keys, redis awake holding a key, nginx not scaling). A helper process watches
 * /proc and kills the worker only once `runc checkpoint` (resp. `criu restore`/`runc restore`) of
 * the sleeping redis runs, and the test fails if the kill missed that window. After each kill: within
 * 10 s all three are RUNNING to the CRI and answer with their data, a client that connected during
 * the restart is served, and the redis can sleep and wake again (nothing stranded).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { httpGetFrom, pidsInContainer, redisCommand, waitForPhase } from '../../harness/net/index.ts';
import { dialInNetns } from '../../src/netns/index.ts';
import type { RunningPod } from '../../harness/cri/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';
import {
  first,
  keeperPid,
  redisAt,
  runThreePods,
  within,
  WORKER_PID_FILE,
  workerPid,
} from '../support/restart.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const KILLER = new URL('../support/kill-in-window.ts', import.meta.url).pathname;
const KEYS = 100_000; // ~13 MB: a dump and a restore long enough to land in, below the lazy-pages size
const redis = (host: string, ...args: string[]) => redisAt(f, host, ...args);

interface Kill {
  hit: boolean;
  reason?: string;
  worker?: number;
  killedAt?: number;
  waitedMs?: number;
  tool?: string;
  toolPid?: number;
  /** The runc tool's last argument (the container id, for `create`). */
  target?: string;
}

/**
 * Starts the killer for `mode` on container `id`; resolves `ready` once it watches and `killed`
 * with what it did.
 */
function armKiller(
  mode: 'checkpoint' | 'restore' | 'create',
  id: string,
): { ready: Promise<void>; killed: Promise<Kill> } {
  const child = spawn(process.execPath, ['--import', 'tsx', KILLER, mode, id, WORKER_PID_FILE, '60000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const killed = new Promise<Kill>((resolve, reject) => {
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: boolean } & Kill;
      if (msg.ready) readyResolve();
      else resolve(msg);
    });
    child.once('exit', (code) => reject(new Error(`the killer exited (${code}) without a verdict`)));
  });
  return { ready, killed };
}

let pods: { sleepy: RunningPod; awake: RunningPod; nginx: RunningPod } | undefined;

async function threePods() {
  if (pods) return pods;
  const { sleepy, awake, nginx } = await runThreePods(f, 'rw');
  assert.equal(await redis(awake.ip, 'SET', 'k', 'awake-value'), '+OK');
  const populated = await within(30_000, 'redis populated', () =>
    redis(sleepy.ip, 'DEBUG', 'POPULATE', String(KEYS)),
  );
  assert.equal(populated.value, '+OK');
  assert.equal(await redis(sleepy.ip, 'SET', 'k', 'sleepy-value'), '+OK');
  pods = { sleepy, awake, nginx };
  return pods;
}

/** After the kill: the next worker, the three pods answering with their data, RUNNING to the CRI. */
async function allAnswer(
  p: NonNullable<typeof pods>,
  kill: Kill,
  during: Promise<{ v: string; ms: number }>,
) {
  const t0 = kill.killedAt!;
  const next = await within(10_000, 'a new worker', () => {
    const pid = workerPid();
    return pid !== kill.worker ? Promise.resolve(pid) : Promise.reject(new Error('same worker'));
  });
  await within(10_000, 'nginx answers', async () => {
    const res = await httpGetFrom(f.client, p.nginx.ip, 80);
    if (!res.body.includes(MARKERS.nginx)) throw new Error(`nginx said ${res.status}`);
  });
  const awake = await within(10_000, 'awake redis answers', () => redis(p.awake.ip, 'GET', 'k'));
  const sleepy = await within(10_000, 'sleepy redis answers', () => redis(p.sleepy.ip, 'GET', 'k'));
  const keys = await redis(p.sleepy.ip, 'DBSIZE');
  const total = Date.now() - t0;
  const served = await during;
  assert.equal(awake.value, 'awake-value');
  assert.equal(sleepy.value, 'sleepy-value', 'the redis caught in the window kept its memory');
  assert.equal(keys, `:${KEYS + 1}`, 'and every key');
  assert.equal(served.v, 'sleepy-value', 'a client that connected during the restart is served');
  assert.ok(total < 10_000, `all answered within 10 s of the kill (${total} ms)`);
  for (const pod of [p.sleepy, p.awake, p.nginx]) {
    const s = await f.cri.containerStatus(first(pod));
    assert.equal(s.state, ContainerState.CONTAINER_RUNNING, `${pod.id} RUNNING`);
  }
  return { next: next.value, nextMs: next.ms, total, servedMs: served.ms };
}

/** Nothing stranded: the redis goes to sleep again and wakes with its data; still RUNNING 2 s on. */
async function sleepsAndWakesAgain(p: NonNullable<typeof pods>) {
  const id = first(p.sleepy);
  await waitForPhase(id, 'scaled-down', 60_000);
  assert.equal(await redis(p.sleepy.ip, 'GET', 'k'), 'sleepy-value');
  assert.equal(await redis(p.sleepy.ip, 'DBSIZE'), `:${KEYS + 1}`);
  await new Promise((r) => setTimeout(r, 2000));
  for (const pod of [p.sleepy, p.awake, p.nginx]) {
    const s = await f.cri.containerStatus(first(pod));
    assert.equal(s.state, ContainerState.CONTAINER_RUNNING, `${pod.id} still RUNNING`);
  }
}

test('the worker SIGKILLed while a checkpoint is being written', async (t) => {
  const p = await threePods();
  const id = first(p.sleepy);
  const running = [first(p.awake), first(p.nginx)].map((c) => pidsInContainer(c).sort());
  const keeper = keeperPid();
  // Awake now (the populate woke it or kept it up); the next idle checkpoint is the window.
  await waitForPhase(id, 'running', 30_000);
  const killer = armKiller('checkpoint', id);
  await killer.ready;
  // Activity now: the checkpoint comes one idle period later, with the killer watching.
  assert.equal(await redis(p.sleepy.ip, 'GET', 'k'), 'sleepy-value');
  const kill = await killer.killed;
  assert.ok(kill.hit, `the kill landed while the checkpoint was written (${JSON.stringify(kill)})`);
  const t0 = kill.killedAt!;
  const during = redis(p.sleepy.ip, 'GET', 'k').then((v) => ({ v, ms: Date.now() - t0 }));
  const r = await allAnswer(p, kill, during);
  t.diagnostic(
    `killed during ${kill.tool} (pid ${kill.toolPid}, ${kill.waitedMs} ms after arming); new worker ${r.next} ` +
      `${r.nextMs} ms after; all answered ${r.total} ms after the kill; the client that connected at the ` +
      `kill was answered after ${r.servedMs} ms`,
  );
  assert.equal(keeperPid(), keeper, 'the keeper is the same process');
  assert.deepEqual(
    [first(p.awake), first(p.nginx)].map((c) => pidsInContainer(c).sort()),
    running,
    'the other apps are the same processes',
  );
  await sleepsAndWakesAgain(p);
});

test('the worker SIGKILLed while a wake is in flight', async (t) => {
  const p = await threePods();
  const id = first(p.sleepy);
  const keeper = keeperPid();
  await waitForPhase(id, 'scaled-down', 60_000);
  const killer = armKiller('restore', id);
  await killer.ready;
  // This client opens the window (its connection wakes the app): held by the dying worker, kept by
  // the keeper, it must be answered once the next worker has the app up.
  const waker = redis(p.sleepy.ip, 'GET', 'k').then(
    (v) => `answered ${v}`,
    (err: unknown) => `failed: ${String(err)}`,
  );
  const kill = await killer.killed;
  assert.ok(kill.hit, `the kill landed while the wake was in flight (${JSON.stringify(kill)})`);
  const t0 = kill.killedAt!;
  const during = redis(p.sleepy.ip, 'GET', 'k').then((v) => ({ v, ms: Date.now() - t0 }));
  const r = await allAnswer(p, kill, during);
  t.diagnostic(
    `killed during ${kill.tool} (pid ${kill.toolPid}); new worker ${r.next} ${r.nextMs} ms after; all ` +
      `answered ${r.total} ms after the kill; the client that connected at the kill was answered after ` +
      `${r.servedMs} ms; the client whose connection woke it: ${await waker}`,
  );
  assert.equal(await waker, 'answered sleepy-value', 'the client whose connection woke it is served');
  assert.equal(keeperPid(), keeper, 'the keeper is the same process');
  const app = pidsInContainer(id).filter((pid) => existsSync(`/proc/${pid}`));
  assert.ok(app.length > 0, 'the redis runs in its container');
  await sleepsAndWakesAgain(p);
});

test('a connection that woke the app keeps working across a SIGKILL of the worker', async (t) => {
  const pod = await f.runPod({
    name: 'rw-redis-held',
    handler: 'zeropod',
    annotations: scaleAnnotations('3s'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  try {
    const id = first(pod);
    await waitForPhase(id, 'running');
    assert.equal(await redis(pod.ip, 'SET', 'k', 'held-value'), '+OK');
    await waitForPhase(id, 'scaled-down', 60_000);
    // One connection for the whole test: it wakes the app, so it is proxied.
    const s = await dialInNetns(
      f.client.netnsPath,
      { host: pod.ip, port: 6379 },
      AbortSignal.timeout(15_000),
    );
    let closedAt: number | undefined;
    s.once('close', () => (closedAt = Date.now()));
    try {
      assert.equal(await redisCommand(s, ['GET', 'k']), 'held-value', 'the waking request is answered');
      const worker = workerPid();
      const killedAt = Date.now();
      process.kill(worker, 'SIGKILL');
      const next = await within(10_000, 'a new worker', () =>
        workerPid() !== worker ? Promise.resolve(workerPid()) : Promise.reject(new Error('same worker')),
      );
      assert.equal(closedAt, undefined, 'the connection outlived the worker');
      assert.equal(await redisCommand(s, ['GET', 'k']), 'held-value', 'the same connection answers');
      assert.equal(await redisCommand(s, ['SET', 'k2', 'v2']), '+OK');
      assert.equal(await redis(pod.ip, 'GET', 'k2'), 'v2', 'what it wrote reached the app');
      t.diagnostic(
        `new worker ${next.value} ${next.ms} ms after the kill; the proxied connection answered ` +
          `${Date.now() - killedAt} ms after it`,
      );
    } finally {
      s.destroy();
    }
  } finally {
    await f.remove(pod);
  }
});

test('the worker SIGKILLed inside runc create: the Create fails, what runc made is removed, a retry starts', async (t) => {
  await threePods(); // a worker runs (the killer watches its children)
  const killer = armKiller('create', '-');
  await killer.ready;
  const spec = (name: string) => ({
    name,
    handler: 'zeropod' as const,
    annotations: scaleAnnotations('1h'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const attempt = f.runPod(spec('rw-created-at-death')).then(
    async (pod) => {
      await f.remove(pod);
      return 'created';
    },
    (err: unknown) => `failed: ${String(err).slice(0, 300)}`,
  );
  const kill = await killer.killed;
  assert.ok(kill.hit, `the kill landed while runc create ran (${JSON.stringify(kill)})`);
  const outcome = await attempt; // answered, not hung
  const runcState = () =>
    execFileSync('runc', ['--root', '/run/containerd/runc/k8s.io', 'state', kill.target!], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const gone = await within(10_000, 'runc forgets the half-created container', () =>
    Promise.resolve().then(() => {
      try {
        runcState();
      } catch {
        return; // runc knows it no more
      }
      throw new Error(`runc still has ${kill.target}`);
    }),
  );
  const retried = await f.runPod(spec('rw-created-after-death'));
  try {
    const pong = await within(10_000, 'the retried redis answers', () => redis(retried.ip, 'PING'));
    assert.equal(pong.value, '+PONG', 'the retry runs');
  } finally {
    await f.remove(retried);
  }
  t.diagnostic(
    `killed during runc create of ${kill.target?.slice(0, 12)}; the RunPodSandbox: ${outcome}; runc's ` +
      `container gone ${gone.ms} ms later`,
  );
});

test('pods stop and are removed normally after the kills', async () => {
  const p = await threePods();
  for (const pod of [p.sleepy, p.awake, p.nginx]) await f.remove(pod);
  pods = undefined;
});
