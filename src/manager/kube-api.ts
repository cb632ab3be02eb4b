/**
 * The few Kubernetes calls the manager makes, behind an interface (unit tests use a fake), and their
 * implementation with @kubernetes/client-node: in a pod it authenticates as its ServiceAccount,
 * elsewhere it reads KUBECONFIG.
 */
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
} from '@kubernetes/client-node';
import type { PodResources } from './resize-plan.ts';
import type { PodRef } from './wire.ts';

export interface PodEvent {
  pod: PodRef;
  container: string;
  reason: string;
  message: string;
  warning: boolean;
  at: number;
}

export interface KubeApi {
  /** The pod's labels, or undefined when no pod with this name and uid exists. */
  readLabels(pod: PodRef): Promise<Record<string, string> | undefined>;
  /** Merges labels into the pod's (a JSON merge patch; `null` removes one). */
  patchLabels(pod: PodRef, labels: Record<string, string | null>): Promise<void>;
  createEvent(e: PodEvent): Promise<void>;
  /** The pod's annotations and its containers' requests, or undefined when the pod is gone. */
  readResources(pod: PodRef): Promise<PodResources | undefined>;
  patchAnnotations(pod: PodRef, annotations: Record<string, string | null>): Promise<void>;
  /** New requests for one container through the pods/resize subresource. */
  resize(pod: PodRef, container: string, requests: { cpu?: string; memory?: string }): Promise<void>;
}

/** HTTP status of a failed API call, when it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const CONTROLLER = 'zeropod.ctrox.dev/manager';

export class ClientNodeApi implements KubeApi {
  readonly #core: CoreV1Api;
  readonly #node: string;

  constructor(node: string, config = defaultConfig()) {
    this.#core = config.makeApiClient(CoreV1Api);
    this.#node = node;
  }

  async readLabels(pod: PodRef): Promise<Record<string, string> | undefined> {
    try {
      const p = await this.#core.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
      if (pod.uid !== '' && p.metadata?.uid !== pod.uid) return undefined;
      return p.metadata?.labels ?? {};
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async patchLabels(pod: PodRef, labels: Record<string, string | null>): Promise<void> {
    await this.#patchMeta(pod, { labels });
  }

  async patchAnnotations(pod: PodRef, annotations: Record<string, string | null>): Promise<void> {
    await this.#patchMeta(pod, { annotations });
  }

  async #patchMeta(pod: PodRef, meta: Record<string, Record<string, string | null>>): Promise<void> {
    // The uid precondition keeps a label off a new pod that took an old one's name.
    const metadata = pod.uid === '' ? meta : { ...meta, uid: pod.uid };
    await this.#core.patchNamespacedPod(
      { name: pod.name, namespace: pod.namespace, body: { metadata } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async readResources(pod: PodRef): Promise<PodResources | undefined> {
    try {
      const p = await this.#core.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
      if (pod.uid !== '' && p.metadata?.uid !== pod.uid) return undefined;
      const requests = new Map<string, { cpu?: string; memory?: string }>();
      for (const c of p.spec?.containers ?? []) {
        const r = c.resources?.requests ?? {};
        requests.set(c.name, {
          ...(r['cpu'] === undefined ? {} : { cpu: String(r['cpu']) }),
          ...(r['memory'] === undefined ? {} : { memory: String(r['memory']) }),
        });
      }
      return { annotations: p.metadata?.annotations ?? {}, requests };
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async resize(pod: PodRef, container: string, requests: { cpu?: string; memory?: string }): Promise<void> {
    // Strategic merge: the container is matched by name and its limits stay as they are.
    await this.#core.patchNamespacedPodResize(
      {
        name: pod.name,
        namespace: pod.namespace,
        body: { spec: { containers: [{ name: container, resources: { requests } }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  }

  async createEvent(e: PodEvent): Promise<void> {
    const when = new Date(e.at);
    const body: CoreV1Event = {
      metadata: { generateName: 'zeropod-status-event-', namespace: e.pod.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: e.pod.name,
        namespace: e.pod.namespace,
        ...(e.pod.uid === '' ? {} : { uid: e.pod.uid }),
        fieldPath: `spec.containers{${e.container}}`,
      },
      reason: e.reason,
      message: e.message,
      type: e.warning ? 'Warning' : 'Normal',
      firstTimestamp: when,
      lastTimestamp: when,
      count: 1,
      source: { component: CONTROLLER, host: this.#node },
      reportingComponent: CONTROLLER,
      reportingInstance: this.#node,
    };
    await this.#core.createNamespacedEvent({ namespace: e.pod.namespace, body });
  }
}

function defaultConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
