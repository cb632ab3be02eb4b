/**
 * Shared set-up for the Kubernetes tier: a namespace per fixture (removed with everything in it), a
 * client host on the pod network (routed to ClusterIPs through the node, as any host beside it would
 * be), and waits on what kubectl reports.
 */
import { execFileSync } from 'node:child_process';
import { after, before } from 'node:test';
import { createClientHost, type ClientHost } from '../../harness/net/index.ts';
import { createNamespace, deleteNamespace, kube, podOf, type PodInfo } from '../../harness/k8s/index.ts';

export class KubeFixture {
  client!: ClientHost;
  readonly namespace: string;
  constructor(namespace: string) {
    this.namespace = namespace;
  }

  async setUp(): Promise<void> {
    await deleteNamespace(this.namespace);
    await createNamespace(this.namespace);
    this.client = createClientHost();
    execFileSync('ip', ['-n', this.client.name, 'route', 'add', 'default', 'via', '10.88.0.1']);
  }

  apply(manifest: string): Promise<unknown> {
    return kube(['-n', this.namespace, 'apply', '-f', '-'], { input: manifest });
  }

  /** Waits for a Deployment's rollout, then returns its pod. */
  async rollout(deployment: string, app = deployment): Promise<PodInfo> {
    await kube(['-n', this.namespace, 'rollout', 'status', `deployment/${deployment}`, '--timeout=120s']);
    return podOf(this.namespace, app);
  }

  pod(app: string): Promise<PodInfo> {
    return podOf(this.namespace, app);
  }

  async tearDown(): Promise<void> {
    this.client?.remove();
    await deleteNamespace(this.namespace);
  }
}

/** One fixture per namespace, set up before the file's tests and torn down after them. */
export function fixtures(...namespaces: string[]): KubeFixture[] {
  const all = namespaces.map((n) => new KubeFixture(n));
  before(async () => {
    for (const f of all) await f.setUp();
  });
  after(async () => {
    for (const f of all) await f.tearDown();
  });
  return all;
}
