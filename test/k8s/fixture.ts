/**
 * Shared set-up for the Kubernetes tier: a namespace per test file (removed with everything in it), a
 * client host on the pod network (routed to ClusterIPs through the node, as any host beside it would
 * be), and waits on what kubectl reports.
 */
import { execFileSync } from 'node:child_process';
import { createClientHost, type ClientHost } from '../../harness/net/index.ts';
import { kube, podOf, type PodInfo } from '../../harness/k8s/index.ts';

export class KubeFixture {
  client!: ClientHost;
  readonly namespace: string;
  constructor(namespace: string) {
    this.namespace = namespace;
  }

  async setUp(): Promise<void> {
    await kube([
      'delete',
      'namespace',
      this.namespace,
      '--ignore-not-found',
      '--wait=true',
      '--timeout=120s',
    ]);
    await kube(['create', 'namespace', this.namespace]);
    // Pods start only once the namespace's default ServiceAccount exists.
    for (let i = 0; i < 100; i++) {
      if (
        (await kube(['-n', this.namespace, 'get', 'serviceaccount', 'default'], { check: false })).code === 0
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
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
    // Workloads first with a short grace period: a busybox httpd as PID 1 ignores SIGTERM, and each
    // pod would otherwise hold the namespace's deletion for the default 30 s.
    await kube(
      ['-n', this.namespace, 'delete', 'deployment,pod', '--all', '--grace-period=1', '--wait=true'],
      {
        check: false,
      },
    );
    await kube(['delete', 'namespace', this.namespace, '--wait=true', '--timeout=180s']);
  }
}
