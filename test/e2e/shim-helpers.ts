/**
 * Shared by the differential shim suites (shim-*.test.ts): the same scenario runs on containerd's
 * own shim (handler `runc`) and on ours (`zeropod`), each run returns what a CRI client could
 * observe, and the two observations must be equal.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cri, ContainerSpec, RunningPod } from '../../harness/cri/index.ts';

export const HANDLERS = ['runc', 'zeropod'] as const;
export type Handler = (typeof HANDLERS)[number];

/** Zeropod pods never scale in this suite: scaling would change what is observed. */
const NO_SCALING = { 'zeropod.ctrox.dev/scaledown-duration': '0' };

/** Pods this file made, removed in `after` even when a test failed half-way. */
export class PodTracker {
  readonly #cri: () => Cri;
  readonly pods = new Set<RunningPod>();
  readonly #made: RunningPod[] = [];

  constructor(cri: () => Cri) {
    this.#cri = cri;
  }

  async run(handler: Handler, name: string, containers: ContainerSpec[]): Promise<RunningPod> {
    const pod = await this.#cri().runPod({
      name: `diff-${name}-${handler}`,
      handler,
      annotations: handler === 'zeropod' ? NO_SCALING : {},
      containers,
    });
    this.pods.add(pod);
    this.#made.push(pod);
    return pod;
  }

  /** StopContainer (grace in seconds) for each container, StopPodSandbox, RemovePodSandbox. */
  async remove(pod: RunningPod, graceSec = 2): Promise<void> {
    await this.#cri().removePod(pod, graceSec);
    this.pods.delete(pod);
  }

  /** Removes the pods still there, then every pod's cgroups (kubelet's part). */
  async removeAll(): Promise<void> {
    for (const pod of [...this.pods]) {
      await this.remove(pod, 1).catch((err: unknown) => console.error(`cleanup of ${pod.id} failed:`, err));
    }
    for (const pod of this.#made) removePodCgroups(pod);
  }
}

/**
 * One differential test: `scenario` runs once per handler (a subtest each, runc first), each
 * observation passes `check`, and zeropod's must equal runc's (or the part `same` picks, where
 * containerd's own shim is known to differ from what the issue asks for).
 */
export function differential<T>(
  name: string,
  scenario: (handler: Handler, t: TestContext) => Promise<T>,
  check: (observed: T, handler: Handler) => void = () => undefined,
  options: { same?: (observed: T) => unknown } = {},
): void {
  const same = options.same ?? ((o: T) => o);
  test(name, async (t) => {
    const seen = new Map<Handler, T>();
    for (const handler of HANDLERS) {
      await t.test(handler, async (st) => {
        const observed = await scenario(handler, st);
        seen.set(handler, observed);
        check(observed, handler);
      });
    }
    assert.ok(seen.has('runc') && seen.has('zeropod'), 'both handlers ran the scenario');
    assert.deepEqual(
      same(seen.get('zeropod')!),
      same(seen.get('runc')!),
      'zeropod observed the same as runc',
    );
  });
}

/** Polls `probe` until it returns something other than undefined (bounded). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  waitMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + waitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() > deadline)
      throw new Error(`${what}: not within ${waitMs} ms`, { cause: lastError });
    await sleep(50);
  }
}

function procEntries(): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d));
}

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return ''; // exited while we looked
  }
}

/** Pids of processes in the pod's cgroups (every container process, whoever its parent is). */
export function podProcesses(pod: RunningPod): number[] {
  return procEntries()
    .filter((p) => readProc(p, 'cgroup').includes(`pod${pod.uid}/`))
    .map(Number);
}

/** Pids whose command line mentions `needle` (shims name their pod's sandbox id). */
export function processesMentioning(needle: string): number[] {
  return procEntries()
    .filter((p) => p !== String(process.pid) && readProc(p, 'cmdline').includes(needle))
    .map(Number);
}

/** The shim serving a pod: the long-running process whose command line names the sandbox id. */
export function shimPids(pod: RunningPod): number[] {
  const byId = procEntries()
    .filter((p) => {
      const argv = readProc(p, 'cmdline').split('\0');
      return (
        argv.some((a) => a.includes('containerd-shim')) && argv.includes(pod.id) && !argv.includes('delete')
      );
    })
    .map(Number);
  if (byId.length > 0) return byId;
  // Our node-wide daemon (the default grouping) serves every zeropod pod; it names its pid here.
  try {
    const pid = Number(readFileSync('/run/zeropod/s/node-k8s.io.pid', 'utf8'));
    return readProc(String(pid), 'cmdline').includes('containerd-shim-zeropod') ? [pid] : [];
  } catch {
    return []; // no node-wide daemon: the pod has no zeropod shim
  }
}

/**
 * The pid that writes the shim's log lines for `pod`: the keeper's worker when a keeper serves it
 * (docs/restart-safety.md), else the shim itself.
 */
export function loggingShimPid(pod: RunningPod): number | undefined {
  const shims = shimPids(pod);
  try {
    const worker = Number(readFileSync('/run/zeropod/s/node-k8s.io.worker.pid', 'utf8'));
    if (shims.includes(readParent(worker))) return worker;
  } catch {
    // no keeper
  }
  return shims[0];
}

function readParent(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Mount points (this mount namespace) that name one of `ids`. */
export function mountsMentioning(ids: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => ids.some((id) => l.includes(id)));
}

/** What is left on the node of a removed pod; every list should be empty. */
export function leftovers(pod: RunningPod, containerIds: string[]): Record<string, string[]> {
  const ids = [pod.id, ...containerIds];
  const paths = ids.flatMap((id) => [
    `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}`,
    `/run/containerd/runc/k8s.io/${id}`,
    `/run/containerd/io.containerd.grpc.v1.cri/containers/${id}`,
    `/run/containerd/io.containerd.grpc.v1.cri/sandboxes/${id}`,
  ]);
  const cgroups = podCgroupDirs(pod, 'memory').flatMap((dir) => containerIds.map((id) => `${dir}/${id}`));
  return {
    processes: podProcesses(pod).map((p) => `${p}: ${readProc(String(p), 'cmdline').replaceAll('\0', ' ')}`),
    shims: processesMentioning(pod.id).map(
      (p) => `${p}: ${readProc(String(p), 'cmdline').replaceAll('\0', ' ')}`,
    ),
    mounts: mountsMentioning(ids),
    paths: paths.filter((p) => existsSync(p)),
    cgroups: cgroups.filter((p) => existsSync(p)),
  };
}

export const NOTHING_LEFT = { processes: [], shims: [], mounts: [], paths: [], cgroups: [] };

/** A cgroup v2 node (the VM tier): one hierarchy for every controller. */
const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');

/**
 * The pod's cgroup directories of one controller. runc puts a relative cgroupsPath under the cgroup
 * of whoever ran it (v1: containerd's, here under the VM sandbox's /process_api/<hash>; v2: that
 * cgroup's parent), so look for `zeropod-ts/pod<uid>` at the root and two levels below it.
 */
export function podCgroupDirs(pod: RunningPod, controller: string): string[] {
  const root = unified ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${controller}`;
  const tail = `zeropod-ts/pod${pod.uid}`;
  const subdirs = (d: string) => {
    try {
      return readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `${d}/${e.name}`);
    } catch {
      return [];
    }
  };
  const bases = [root, ...subdirs(root).flatMap((d) => [d, ...subdirs(d)])];
  return bases.map((b) => `${b}/${tail}`).filter((d) => existsSync(d));
}

/** rmdir the pod-level cgroups (kubelet removes them after RemovePodSandbox). Best effort. */
export function removePodCgroups(pod: RunningPod): void {
  for (const controller of unified ? [''] : readdirSync('/sys/fs/cgroup')) {
    for (const dir of podCgroupDirs(pod, controller)) removeCgroupTree(dir);
  }
}

function removeCgroupTree(dir: string): void {
  try {
    // Children first: container cgroups a runtime left behind would keep the pod's busy.
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory()) rmdirQuiet(`${dir}/${d.name}`);
    }
  } catch {
    // gone meanwhile
  }
  rmdirQuiet(dir);
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir); // works on a cgroup directory: its files are virtual
  } catch {
    // busy or gone
  }
}
