/**
 * kubectl for tests and the demo, from wherever they run: inside the node environment (where pod IPs
 * and the shims' status sockets are) the programs and the admin kubeconfig are bound in; on the host
 * they are in the cache and the state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { internal } from '../../src/base/index.ts';
import { paths, run, type RunResult } from '../env/index.ts';
import { k8sBin } from './binaries.ts';
import { kubeconfigPath } from './cluster.ts';

const INSIDE = { kubectl: '/opt/kubernetes/bin/kubectl', kubeconfig: '/etc/kubernetes/pki/admin.kubeconfig' };

function where(): { kubectl: string; kubeconfig: string } {
  if (existsSync(INSIDE.kubeconfig)) return INSIDE;
  return { kubectl: path.join(k8sBin(), 'kubectl'), kubeconfig: kubeconfigPath() };
}

/** The kubeconfig kubectl uses from here (for API clients in tests). */
export const kubeconfigHere = (): string => where().kubeconfig;

export function kube(
  args: readonly string[],
  options: { check?: boolean; input?: string } = {},
): Promise<RunResult> {
  const { kubectl, kubeconfig } = where();
  return run(kubectl, ['--kubeconfig', kubeconfig, ...args], options);
}

export async function kubeJson<T>(args: readonly string[]): Promise<T> {
  const r = await kube([...args, '-o', 'json']);
  try {
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    throw internal(`kubectl ${args.join(' ')} printed no JSON: ${r.stdout.slice(0, 200)}`, { cause: err });
  }
}

/** A manifest from deploy/examples, optionally moved to another RuntimeClass (the `runc` baseline). */
export function example(name: string, runtimeClass = 'zeropod'): string {
  const text = readFileSync(path.join(paths.project, 'deploy/examples', `${name}.yaml`), 'utf8');
  return runtimeClass === 'zeropod'
    ? text
    : text.replaceAll('runtimeClassName: zeropod', `runtimeClassName: ${runtimeClass}`);
}

export interface PodInfo {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
  spec: { runtimeClassName?: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      containerID?: string;
      state?: Record<string, { reason?: string; exitCode?: number } | undefined>;
      lastState?: Record<string, { reason?: string; exitCode?: number } | undefined>;
    }[];
  };
}

/** The single pod of an app (label app=APP) in a namespace. */
export async function podOf(namespace: string, app: string): Promise<PodInfo> {
  const list = await kubeJson<{ items: PodInfo[] }>(['-n', namespace, 'get', 'pods', '-l', `app=${app}`]);
  const live = list.items.filter((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
  if (live.length !== 1)
    throw internal(`expected one pod of app=${app} in ${namespace}, found ${live.length}`);
  return live[0]!;
}

/** containerd's id of a pod's container (from `containerd://<id>`). */
export function containerIdOf(pod: PodInfo, container: string): string {
  const id = pod.status.containerStatuses?.find((c) => c.name === container)?.containerID;
  if (!id) throw internal(`pod ${pod.metadata.name} has no container ${container} yet`);
  return id.replace(/^containerd:\/\//, '');
}

export const isReady = (pod: PodInfo): boolean =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A new namespace, once its default ServiceAccount exists (pods are refused until then). */
export async function createNamespace(namespace: string): Promise<void> {
  await kube(['create', 'namespace', namespace]);
  for (let i = 0; i < 100; i++) {
    if ((await kube(['-n', namespace, 'get', 'serviceaccount', 'default'], { check: false })).code === 0)
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw internal(`namespace ${namespace} got no default ServiceAccount within 10 s`);
}

/** Deletes a namespace and everything in it, its workloads first with a short grace period. */
export async function deleteNamespace(namespace: string): Promise<void> {
  // A busybox httpd as PID 1 ignores SIGTERM: each pod would hold the deletion for the default 30 s.
  await kube(['-n', namespace, 'delete', 'deployment,pod', '--all', '--grace-period=1', '--wait=true'], {
    check: false,
  });
  await kube(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=180s']);
}
