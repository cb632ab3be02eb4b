/**
 * Publishes task events to containerd over its ttrpc events service, in order. One connection,
 * reopened on failure; each event is retried with backoff for up to RETRY_BUDGET_MS (a containerd
 * restart takes seconds: containerd's runc shim requeues for ~15 s) and, if containerd stays away,
 * logged as lost (containerd re-reads state from the shim when it comes back).
 */
import { create, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack, timestampNow } from '@bufbuild/protobuf/wkt';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, type Logger, OperationQueue } from '../base/index.ts';
import { TtrpcClient } from '../ttrpc/index.ts';
import { Events } from '../gen/github.com/containerd/containerd/api/services/ttrpc/events/v1/events_pb.js';
import {
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskPausedSchema,
  TaskResumedSchema,
  TaskStartSchema,
  TaskCheckpointedSchema,
} from '../gen/github.com/containerd/containerd/api/events/task_pb.js';

/** Topic for each event message, as containerd's runtime package names them. */
const topics = new Map<DescMessage, string>([
  [TaskCreateSchema, '/tasks/create'],
  [TaskStartSchema, '/tasks/start'],
  [TaskExitSchema, '/tasks/exit'],
  [TaskDeleteSchema, '/tasks/delete'],
  [TaskExecAddedSchema, '/tasks/exec-added'],
  [TaskExecStartedSchema, '/tasks/exec-started'],
  [TaskOOMSchema, '/tasks/oom'],
  [TaskPausedSchema, '/tasks/paused'],
  [TaskResumedSchema, '/tasks/resumed'],
  [TaskCheckpointedSchema, '/tasks/checkpointed'],
]);

/** How long one event is retried while containerd is unreachable. */
export const RETRY_BUDGET_MS = 30_000;
const MAX_BACKOFF_MS = 2000;
/** How long close() waits for queued events before giving up on them. */
const CLOSE_FLUSH_MS = 5000;

export interface EventSink {
  publish<D extends DescMessage>(schema: D, event: MessageInitShape<D>): void;
}

export class EventPublisher implements EventSink {
  readonly #queue = new OperationQueue();
  readonly #address: string;
  readonly #namespace: string;
  readonly #log: Logger;
  #client: TtrpcClient | undefined;
  #closed = false;

  constructor(ttrpcAddress: string, namespace: string, log: Logger) {
    this.#address = ttrpcAddress.replace(/^unix:\/\//, '');
    this.#namespace = namespace;
    this.#log = log.child({ component: 'events' });
  }

  publish<D extends DescMessage>(schema: D, event: MessageInitShape<D>): void {
    const topic = topics.get(schema);
    if (topic === undefined) throw new Error(`no topic for ${schema.typeName}`);
    const message = create(schema, event);
    const envelope = {
      timestamp: timestampNow(),
      namespace: this.#namespace,
      topic,
      event: anyPack(schema, message),
    };
    void this.#queue.run(() => this.#send(topic, envelope));
  }

  /** Waits until every event published so far was sent (or given up on). */
  flush(): Promise<void> {
    return this.#queue.run(async () => undefined);
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((r) => (timer = setTimeout(r, CLOSE_FLUSH_MS)))]);
    clearTimeout(timer);
    this.#closed = true;
    await this.#client?.[Symbol.asyncDispose]();
  }

  async #send(
    topic: string,
    envelope: MessageInitShape<(typeof Events)['method']['forward']['input']>['envelope'],
  ) {
    const deadline = performance.now() + RETRY_BUDGET_MS;
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const client = await this.#connect();
        await client.unary(Events.method.forward, { envelope }, { timeoutMs: 5000 });
        if (attempt > 0) this.#log.info('event published after retries', { topic, attempt });
        return;
      } catch (err) {
        if (attempt === 0)
          this.#log.warn('publishing an event failed: retrying', { topic, error: describeError(err) });
        await this.#client?.[Symbol.asyncDispose]().catch(() => undefined);
        this.#client = undefined;
        if (performance.now() > deadline) break;
        await sleep(Math.min(100 * 2 ** attempt, MAX_BACKOFF_MS));
      }
    }
    this.#log.error('event lost: containerd did not take it', { topic });
  }

  async #connect(): Promise<TtrpcClient> {
    if (this.#client?.phase === 'open') return this.#client;
    this.#client = await TtrpcClient.connect(this.#address, { logger: this.#log });
    return this.#client;
  }
}
