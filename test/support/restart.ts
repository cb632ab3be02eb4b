/**
 * What the restart-safety e2e tests share (docs/restart-safety.md): the keeper's and the worker's pid
 * files, a redis client that reports a closed connection at once, a bounded retry, and the three pods
 * a worker's death must not disturb (redis going to sleep, redis awake, nginx not scaling).
 */
import { existsSync, readFileSync } from 'node:fs';
import { IMAGES } from '../../harness/images/index.ts';
import { redisCommand, waitForPhase } from '../../harness/net/index.ts';
import type { RunningPod } from '../../harness/cri/index.ts';
import { dialInNetns } from '../../src/netns/index.ts';
import { scaleAnnotations, type ScaleFixture } from './scale-pod.ts';

const PID_FILES = '/run/zeropod/s/node-k8s.io';

const readPid = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0);

/** Where the worker of the k8s.io namespace writes its pid. */
export const WORKER_PID_FILE = `${PID_FILES}.worker.pid`;

/** The keeper of the k8s.io namespace (0 when none runs). */
export const keeperPid = (): number => readPid(`${PID_FILES}.pid`);

/** Its current worker (0 when none has written its pid yet). */
export const workerPid = (): number => readPid(WORKER_PID_FILE);

/** The first (only) container of a pod. */
export const first = (pod: RunningPod): string => [...pod.containers.values()][0]!;

/** One redis command from the fixture's client; a connection closed before the reply fails at once. */
export async function redisAt(f: ScaleFixture, host: string, ...args: string[]): Promise<string> {
  const s = await dialInNetns(f.client.netnsPath, { host, port: 6379 }, AbortSignal.timeout(15_000));
  const closed = new Promise<never>((_, reject) =>
    s.once('close', () => reject(new Error('the connection closed before the reply'))),
  );
  closed.catch(() => undefined);
  try {
    return await Promise.race([redisCommand(s, args), closed]);
  } finally {
    s.destroy();
  }
}

/** Retries `fn` until it succeeds (bounded); returns its value and how long it took. */
export async function within<T>(
  ms: number,
  what: string,
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  let last: unknown;
  while (performance.now() - t0 < ms) {
    try {
      return { value: await fn(), ms: Math.round(performance.now() - t0) };
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what}: not within ${ms} ms: ${String(last)}`);
}

export interface ThreePods {
  /** redis with scaledown-duration 1s: asleep between the test's requests. */
  sleepy: RunningPod;
  /** redis with 1h: awake throughout. */
  awake: RunningPod;
  /** nginx that never scales. */
  nginx: RunningPod;
}

/** The three pods, named `<prefix>-...`; returns once the awake redis runs. */
export async function runThreePods(f: ScaleFixture, prefix: string): Promise<ThreePods> {
  const sleepy = await f.runPod({
    name: `${prefix}-redis-sleepy`,
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const awake = await f.runPod({
    name: `${prefix}-redis-awake`,
    handler: 'zeropod',
    annotations: scaleAnnotations('1h'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const nginx = await f.runPod({
    name: `${prefix}-nginx`,
    handler: 'zeropod',
    annotations: scaleAnnotations('0'), // 0: never scales
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });
  await waitForPhase(first(awake), 'running');
  return { sleepy, awake, nginx };
}
