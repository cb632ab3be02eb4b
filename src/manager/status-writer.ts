/**
 * Turns the node view's effects into API calls: one queue per pod, so a pod's labels and events go
 * out in the order their changes happened, and labels waiting behind a call in flight are merged
 * (only the newest value of each goes out). Failed calls are retried with backoff, bounded; a pod
 * that is gone ends its queue quietly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationQueue, describeError, type Logger } from '../base/index.ts';
import { statusCodeOf, type KubeApi } from './kube-api.ts';
import { agrees, ms, type Effect } from './node-view.ts';
import { planGrow, planShrink } from './resize-plan.ts';
import type { PodRef } from './wire.ts';

export const LABEL_PREFIX = 'status.zeropod.ctrox.dev/';

const ATTEMPTS = 6;
const FIRST_RETRY_MS = 200;

interface PodQueue {
  queue: OperationQueue;
  labels: Map<string, string>;
  flushQueued: boolean;
}

export class StatusWriter {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #pods = new Map<string, PodQueue>();
  readonly #abort = new AbortController();

  constructor(api: KubeApi, log: Logger) {
    this.#api = api;
    this.#log = log;
  }

  /** Resolves when this effect's call (and those queued before it on the pod) is done. */
  apply(effect: Effect): Promise<void> {
    const pod = effect.pod;
    if (pod.name === '' || pod.namespace === '') return Promise.resolve(); // not a Kubernetes pod
    const q = this.#queueOf(pod);
    let taken: Record<string, string> | undefined;
    switch (effect.kind) {
      case 'label':
        q.labels.set(LABEL_PREFIX + effect.container, effect.value);
        if (q.flushQueued) return Promise.resolve();
        q.flushQueued = true;
        return this.#run(pod, q, 'label', () => {
          // Taken once, when the call first runs: labels set after that wait for the next patch.
          if (!taken) {
            q.flushQueued = false;
            taken = Object.fromEntries(q.labels);
            q.labels.clear();
          }
          return this.#api.patchLabels(pod, taken);
        });
      case 'event':
        return this.#run(pod, q, 'event', () => this.#api.createEvent(effect));
      case 'resize':
        return this.#run(pod, q, 'resize', async () => {
          const now = await this.#api.readResources(pod);
          if (!now) return;
          const asleep = effect.asleep;
          const plan = asleep ? planShrink(now, effect.container) : planGrow(now, effect.container);
          if (plan.requests === undefined) return;
          // Originals kept before the requests go down; removed only after they are back.
          if (asleep && plan.annotations) await this.#api.patchAnnotations(pod, plan.annotations);
          try {
            await this.#api.resize(pod, effect.container, plan.requests);
          } catch (err) {
            const code = statusCodeOf(err);
            if (code === undefined || code >= 500 || code === 409) throw err; // retried
            if (asleep && plan.annotations) {
              const undo = Object.fromEntries(
                Object.keys(plan.annotations).map((k) => [k, now.annotations[k] ?? null]),
              );
              await this.#api.patchAnnotations(pod, undo);
            }
            await this.#api.createEvent({
              pod,
              container: effect.container,
              reason: 'Resize failed',
              warning: true,
              at: Date.now(),
              message: `The cluster refused to set the requests of container ${effect.container} to ${JSON.stringify(plan.requests)} ${asleep ? 'while it sleeps' : 'after its wake'} (HTTP ${code}): ${describeError(err).slice(0, 300)}`,
            });
            return;
          }
          if (!asleep && plan.annotations) await this.#api.patchAnnotations(pod, plan.annotations);
        });
      case 'reconcile':
        return this.#run(pod, q, 'reconcile', async () => {
          const labels = await this.#api.readLabels(pod);
          if (labels === undefined) return;
          const current = labels[LABEL_PREFIX + effect.container];
          if (agrees(current, effect.awake)) return;
          // The phase changed while no manager was watching: say so now.
          const t = effect.tracked;
          await this.#api.patchLabels(pod, {
            [LABEL_PREFIX + effect.container]: effect.awake ? 'RUNNING' : 'SCALED_DOWN',
          });
          if (current === undefined && effect.awake && t.counts.restores === 0) return; // first start
          await this.#api.createEvent({
            pod,
            container: effect.container,
            reason: effect.awake ? 'Running' : 'Scaled down',
            warning: false,
            at: (effect.awake ? t.lastRestoreAt : t.lastCheckpointAt) ?? Date.now(),
            message: effect.awake
              ? `Restored container ${effect.container} in ${ms(t.counts.lastRestoreMs)} (seen after a manager restart)`
              : `Scaled down container ${effect.container} in ${ms(t.counts.lastCheckpointMs)} (seen after a manager restart)`,
          });
        });
    }
  }

  #queueOf(pod: PodRef): PodQueue {
    const key = `${pod.namespace}/${pod.name}/${pod.uid}`;
    let q = this.#pods.get(key);
    if (!q) {
      q = { queue: new OperationQueue(), labels: new Map(), flushQueued: false };
      this.#pods.set(key, q);
    }
    return q;
  }

  async #run(pod: PodRef, q: PodQueue, what: string, call: () => Promise<void>): Promise<void> {
    await q.queue.run(async () => {
      for (let attempt = 1, delay = FIRST_RETRY_MS; ; attempt++, delay *= 2) {
        if (this.#abort.signal.aborted) return;
        try {
          return await call();
        } catch (err) {
          const code = statusCodeOf(err);
          const gone = code === 404 || code === 409 || code === 422;
          const fields = { pod: `${pod.namespace}/${pod.name}`, what, code, error: describeError(err) };
          if (gone || attempt >= ATTEMPTS) {
            this.#log.warn(
              gone ? 'pod gone or changed: call dropped' : 'Kubernetes call failed: giving up',
              fields,
            );
            return;
          }
          this.#log.debug('Kubernetes call failed: retrying', { ...fields, attempt });
          await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    });
    if (q.queue.pending === 0) this.#pods.delete(`${pod.namespace}/${pod.name}/${pod.uid}`);
  }

  close(): void {
    this.#abort.abort();
  }
}
