/**
 * Pods through the CRI, named bench-*, always removed (even on failure), plus the shim's status
 * API: HTTP on a unix socket per pod, GET /status -> every scaled container's phase and stats.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { Cri, type PodSpec, type RunningPod } from '../../harness/cri/index.ts';
import { readStatus, type ScaledStatus } from '../../harness/net/index.ts';

export type { ScaledStatus };

export const SCALEDOWN = 'zeropod.ctrox.dev/scaledown-duration';
const CGROUP_PARENT = 'zeropod-ts';

export class BenchPods {
  #cri: Cri;
  readonly #mine = new Map<string, RunningPod>();

  private constructor(cri: Cri) {
    this.#cri = cri;
  }

  static async connect(): Promise<BenchPods> {
    return new BenchPods(await Cri.connect({ cgroupParent: CGROUP_PARENT, waitMs: 60_000 }));
  }

  get cri(): Cri {
    return this.#cri;
  }

  /**
   * A fresh channel after containerd went away (other engineers restart it in the shared
   * environment); gRPC would otherwise back off before redialling. Waits up to 2 minutes.
   */
  async reconnect(): Promise<void> {
    const next = await Cri.connect({ cgroupParent: CGROUP_PARENT, waitMs: 120_000 });
    this.#cri.close();
    this.#cri = next;
  }

  async run(spec: PodSpec): Promise<RunningPod> {
    if (!spec.name.startsWith('bench-')) throw new Error(`benchmark pods are named bench-*: ${spec.name}`);
    const pod = await this.cri.runPod(spec);
    this.#mine.set(pod.id, pod);
    return pod;
  }

  async remove(pod: RunningPod): Promise<void> {
    this.#mine.delete(pod.id);
    try {
      await this.cri.removePod(pod, 2);
    } finally {
      removeCgroups(pod.uid);
    }
  }

  /** Removes these pods, all of them even if some fail; then throws what failed. */
  async removeEach(pods: readonly RunningPod[]): Promise<void> {
    const errors: unknown[] = [];
    for (const pod of pods) await this.remove(pod).catch((err: unknown) => errors.push(err));
    if (errors.length > 0)
      throw new AggregateError(
        errors,
        `${errors.length} of ${pods.length} benchmark pods could not be removed`,
      );
  }

  /** Removes every pod this process made that is still there. */
  async removeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const pod of [...this.#mine.values()])
      await this.remove(pod).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, 'some benchmark pods could not be removed');
  }

  /** Removes bench-* pods an earlier run left behind (a crash, a kill): ours by name only. */
  async removeStale(): Promise<string[]> {
    const { items } = await this.cri.runtime.listPodSandbox({});
    const stale = items.filter((sb) => sb.metadata?.name.startsWith('bench-'));
    for (const sb of stale) {
      await this.cri.runtime.stopPodSandbox({ podSandboxId: sb.id });
      await this.cri.runtime.removePodSandbox({ podSandboxId: sb.id });
      if (sb.metadata?.uid) removeCgroups(sb.metadata.uid);
    }
    return stale.map((sb) => sb.metadata?.name ?? sb.id);
  }

  close(): void {
    this.cri.close();
  }
}

function removeCgroups(uid: string): void {
  const base = '/sys/fs/cgroup';
  if (!existsSync(base)) return;
  for (const ctrl of readdirSync(base)) {
    const dir = path.join(base, ctrl, CGROUP_PARENT, `pod${uid}`);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) rmdirQuiet(path.join(dir, e.name));
    }
    rmdirQuiet(dir);
  }
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still busy or already gone: containerd may remove it itself; not ours to force
  }
}

const STATUS_DIR = '/run/zeropod/status';
const statusHash = (group: string) =>
  createHash('sha256').update(`k8s.io\0${group}`).digest('hex').slice(0, 32);
/** Which socket answered for a pod (the shim's grouping decides: one daemon per pod or per node). */
const socketOf = new Map<string, string>();

/**
 * Where the zeropod shim serving a pod has its status API (src/shim/paths.ts, namespace k8s.io):
 * the pod's own daemon (grouping `pod`), the node-wide daemon (`__node__`, the default), or, if
 * neither lists the container, whichever socket does.
 */
async function statusSocketFor(sandboxId: string, containerId: string, timeoutMs: number): Promise<string> {
  const known = socketOf.get(sandboxId);
  if (known) return known;
  const candidates = [
    path.join(STATUS_DIR, `${statusHash(sandboxId)}.sock`),
    path.join(STATUS_DIR, `${statusHash('__node__')}.sock`),
  ];
  if (existsSync(STATUS_DIR)) {
    for (const f of readdirSync(STATUS_DIR))
      if (f.endsWith('.sock')) candidates.push(path.join(STATUS_DIR, f));
  }
  let lastErr: unknown = new Error(`no status socket in ${STATUS_DIR}`);
  for (const sock of new Set(candidates)) {
    if (!existsSync(sock)) continue;
    try {
      if ((await readStatus(sock, timeoutMs)).some((s) => s.container === containerId)) {
        socketOf.set(sandboxId, sock);
        return sock;
      }
    } catch (err) {
      lastErr = err; // a stale socket of a daemon that is gone
    }
  }
  throw new Error(`no shim status API lists container ${containerId.slice(0, 12)}`, { cause: lastErr });
}

/** Every scaled container the pod's shim reports (with a node-wide daemon: other pods' too). */
export async function getStatus(
  sandboxId: string,
  containerId: string,
  timeoutMs = 2000,
): Promise<ScaledStatus[]> {
  return readStatus(await statusSocketFor(sandboxId, containerId, timeoutMs), timeoutMs);
}

/** The status of one container, or undefined if its shim no longer lists it. */
export async function containerStatus(
  pod: RunningPod,
  containerId: string,
): Promise<ScaledStatus | undefined> {
  return (await getStatus(pod.id, containerId)).find((s) => s.container === containerId);
}

/** Polls the status API until the container is in `phase`; returns its status then. */
export async function waitPhase(
  pod: RunningPod,
  containerId: string,
  phase: string,
  timeoutMs: number,
  everyMs = 20,
): Promise<ScaledStatus> {
  const deadline = performance.now() + timeoutMs;
  let last: ScaledStatus | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await containerStatus(pod, containerId);
      if (last?.phase === phase) return last;
    } catch (err) {
      lastErr = err; // the shim may not serve yet
    }
    if (performance.now() > deadline) {
      throw new Error(
        `container ${containerId.slice(0, 12)} not ${phase} after ${timeoutMs} ms (phase ${last?.phase ?? 'unknown'}${last?.lastError ? `, last error: ${last.lastError}` : ''})`,
        { cause: lastErr },
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
