/**
 * A CRI client that drives containerd the way kubelet does (runtime.v1 RuntimeService and
 * ImageService over gRPC), plus the pod-level conveniences tests, the demo and benchmarks need.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ImageService,
  NamespaceMode,
  RuntimeService,
  KeyValueSchema,
  SecurityProfile_ProfileType as ProfileType,
  ContainerState,
  type ContainerStatus,
} from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { create } from '@bufbuild/protobuf';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { createGrpcClient, type GrpcClient } from './grpc-client.ts';
import { unavailable } from '../../src/base/index.ts';

type MethodsOf<S> = S extends GenService<infer T> ? T : never;
export type RuntimeClient = GrpcClient<MethodsOf<typeof RuntimeService>>;
export type ImageClient = GrpcClient<MethodsOf<typeof ImageService>>;

export const DEFAULT_CRI_SOCKET = 'unix:///run/containerd/containerd.sock';

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  annotations?: Record<string, string>;
  tty?: boolean;
  memoryLimitBytes?: number;
  /** 'runtime/default' (RuntimeDefault), 'unconfined', or 'localhost/<path>' inside the environment. */
  seccomp?: string;
}

export interface PodSpec {
  name: string;
  namespace?: string;
  /** CRI runtime handler: `runc` (containerd's shim) or `zeropod` (ours). */
  handler: string;
  annotations?: Record<string, string>;
  containers: ContainerSpec[];
}

export interface RunningPod {
  id: string;
  uid: string;
  ip: string;
  logDirectory: string;
  /** container name -> container id */
  containers: Map<string, string>;
  /** The sandbox config it was run with (CreateContainer needs it again). */
  sandboxConfig?: SandboxConfig;
}

type SandboxConfig = Parameters<RuntimeClient['createContainer']>[0]['sandboxConfig'];

export interface ExecSyncResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let podCounter = 0;

/**
 * A pod's cgroup parent as kubelet's cgroup driver names it. On a node whose init is systemd
 * (/run/systemd/system: the VM booted with `up --systemd`), containerd's runtimes say
 * `SystemdCgroup = true` (harness/vm/guest/node.sh) and the parent is a slice, from which CRI makes
 * the containers' `slice:cri-containerd:id`; elsewhere a path (cgroupfs).
 */
export function podCgroupParent(
  base: string,
  uid: string,
  systemd = existsSync('/run/systemd/system'),
): string {
  if (!systemd) return `${base}/pod${uid}`;
  // A dash in a slice name is a level of the hierarchy: keep the pod one level below the base.
  const flat = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
  return `${flat(base)}-pod${flat(uid)}.slice`;
}

export class Cri {
  readonly runtime: RuntimeClient;
  readonly images: ImageClient;
  readonly cgroupParent: string;

  private constructor(address: string, cgroupParent: string) {
    this.runtime = createGrpcClient(RuntimeService, address, { timeoutMs: 60_000 });
    this.images = createGrpcClient(ImageService, address, { timeoutMs: 60_000 });
    this.cgroupParent = cgroupParent;
  }

  /** Connects and waits until the runtime answers; a fresh channel per attempt (gRPC backs off ~5 s). */
  static async connect(
    options: { address?: string; cgroupParent?: string; waitMs?: number } = {},
  ): Promise<Cri> {
    const address = options.address ?? DEFAULT_CRI_SOCKET;
    const deadline = performance.now() + (options.waitMs ?? 15_000);
    for (;;) {
      const cri = new Cri(address, options.cgroupParent ?? 'zeropod-ts');
      try {
        await cri.runtime.version({}, { timeoutMs: 1000 });
        const status = await cri.runtime.status({}, { timeoutMs: 1000 });
        if (status.status?.conditions.every((c) => c.status)) return cri;
      } catch (err) {
        if (performance.now() > deadline)
          throw unavailable(`CRI at ${address} did not become ready`, { cause: err });
      }
      cri.close();
      if (performance.now() > deadline) throw unavailable(`CRI at ${address} did not report ready`);
      await sleep(100);
    }
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  /** RunPodSandbox + CreateContainer + StartContainer for every container, as kubelet does. */
  async runPod(spec: PodSpec): Promise<RunningPod> {
    const namespace = spec.namespace ?? 'default';
    const uid = `${process.pid}-${Date.now()}-${podCounter++}`;
    const logDirectory = `/var/log/pods/${namespace}_${spec.name}_${uid}`;
    const sandboxConfig = {
      metadata: { name: spec.name, namespace, uid, attempt: 0 },
      hostname: spec.name,
      logDirectory,
      annotations: spec.annotations ?? {},
      labels: { 'io.kubernetes.pod.name': spec.name, 'io.kubernetes.pod.namespace': namespace },
      linux: {
        cgroupParent: podCgroupParent(this.cgroupParent, uid),
        securityContext: {
          namespaceOptions: {
            network: NamespaceMode.POD,
            pid: NamespaceMode.CONTAINER,
            ipc: NamespaceMode.POD,
          },
        },
      },
    };
    const { podSandboxId } = await this.runtime.runPodSandbox({
      config: sandboxConfig,
      runtimeHandler: spec.handler,
    });
    const pod: RunningPod = {
      id: podSandboxId,
      uid,
      ip: '',
      logDirectory,
      containers: new Map(),
      sandboxConfig,
    };
    try {
      for (const c of spec.containers) {
        const id = await this.createContainer(pod, sandboxConfig, c);
        await this.runtime.startContainer({ containerId: id });
      }
      const status = await this.runtime.podSandboxStatus({ podSandboxId });
      pod.ip = status.status?.network?.ip ?? '';
      return pod;
    } catch (err) {
      await this.removePod(pod).catch(() => undefined);
      throw err;
    }
  }

  /** CreateContainer + StartContainer in a running pod; the id (recorded in the pod even if Start fails). */
  async addContainer(pod: RunningPod, c: ContainerSpec): Promise<string> {
    const id = await this.createContainer(pod, pod.sandboxConfig, c);
    await this.runtime.startContainer({ containerId: id });
    return id;
  }

  async createContainer(
    pod: RunningPod,
    sandboxConfig: Parameters<RuntimeClient['createContainer']>[0]['sandboxConfig'],
    c: ContainerSpec,
  ): Promise<string> {
    const { containerId } = await this.runtime.createContainer({
      podSandboxId: pod.id,
      sandboxConfig,
      config: {
        metadata: { name: c.name, attempt: 0 },
        image: { image: c.image },
        command: c.command ?? [],
        args: c.args ?? [],
        envs: Object.entries(c.env ?? {}).map(([key, value]) =>
          create(KeyValueSchema, { key, value: Buffer.from(value) }),
        ),
        annotations: c.annotations ?? {},
        labels: { 'io.kubernetes.container.name': c.name },
        logPath: `${c.name}/0.log`,
        tty: c.tty ?? false,
        stdin: c.tty ?? false,
        linux: {
          resources: c.memoryLimitBytes ? { memoryLimitInBytes: BigInt(c.memoryLimitBytes) } : {},
          securityContext: {
            namespaceOptions: {
              network: NamespaceMode.POD,
              pid: NamespaceMode.CONTAINER,
              ipc: NamespaceMode.POD,
            },
            ...(c.seccomp ? { seccomp: seccompProfile(c.seccomp) } : {}),
          },
        },
      },
    });
    pod.containers.set(c.name, containerId);
    return containerId;
  }

  /** Stops and removes every pod sandbox (a test's safety net; kubelet would garbage-collect). */
  async removeAllPods(): Promise<number> {
    const { items } = await this.runtime.listPodSandbox({});
    for (const sb of items) {
      await this.runtime.stopPodSandbox({ podSandboxId: sb.id });
      await this.runtime.removePodSandbox({ podSandboxId: sb.id });
    }
    return items.length;
  }

  /** ExecSync, as kubelet's exec probes run it: exit code and the whole stdout/stderr as text. */
  async execSync(containerId: string, cmd: string[], timeoutSec = 30): Promise<ExecSyncResult> {
    const r = await this.runtime.execSync({ containerId, cmd, timeout: BigInt(timeoutSec) });
    return {
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout).toString(),
      stderr: Buffer.from(r.stderr).toString(),
    };
  }

  /** Polls ContainerStatus until `done(status)` holds (bounded by `waitMs`); the last status. */
  async waitForContainer(
    containerId: string,
    done: (s: ContainerStatus) => boolean,
    waitMs = 30_000,
  ): Promise<ContainerStatus> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const s = await this.containerStatus(containerId);
      if (done(s)) return s;
      if (performance.now() > deadline) {
        throw unavailable(`container ${containerId} did not reach the awaited status`, {
          details: { state: ContainerState[s.state], exitCode: s.exitCode, reason: s.reason },
        });
      }
      await sleep(50);
    }
  }

  /** Waits until the container is EXITED. */
  waitForExit(containerId: string, waitMs = 30_000): Promise<ContainerStatus> {
    return this.waitForContainer(containerId, (s) => s.state === ContainerState.CONTAINER_EXITED, waitMs);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    const r = await this.runtime.containerStatus({ containerId });
    if (!r.status) throw unavailable(`no status for container ${containerId}`);
    return r.status;
  }

  /** StopPodSandbox + RemovePodSandbox, as kubelet does when a pod is deleted. */
  async removePod(pod: RunningPod, gracePeriodSec = 10): Promise<void> {
    for (const id of pod.containers.values()) {
      await this.runtime.stopContainer({ containerId: id, timeout: BigInt(gracePeriodSec) });
    }
    await this.runtime.stopPodSandbox({ podSandboxId: pod.id });
    await this.runtime.removePodSandbox({ podSandboxId: pod.id });
  }
}

function seccompProfile(spec: string) {
  if (spec === 'runtime/default') return { profileType: ProfileType.RuntimeDefault };
  if (spec === 'unconfined') return { profileType: ProfileType.Unconfined };
  return { profileType: ProfileType.Localhost, localhostRef: spec.replace(/^localhost\//, '') };
}
