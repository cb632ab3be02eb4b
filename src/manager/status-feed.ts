/**
 * Follows one shim's status API: subscribes to GET /events first, then reads GET /status, so no
 * change falls between the two; events already in the snapshot (seq <= the snapshot's) are dropped.
 * When the stream ends (the shim restarted, or its daemon died) it connects again with backoff and
 * delivers a fresh snapshot: whoever listens rebuilds its state from that, never from memory alone.
 */
import http from 'node:http';
import { describeError, unavailable, type Logger } from '../base/index.ts';
import { NdjsonDecoder } from './ndjson.ts';
import { parseChange, parseSnapshot, type ContainerSnapshot, type PhaseChangeLine } from './wire.ts';

export type FeedMessage =
  | { kind: 'snapshot'; source: string; containers: ContainerSnapshot[] }
  | { kind: 'change'; source: string; change: PhaseChangeLine }
  /** The shim does not answer (refused, no socket): its containers are not known to exist. */
  | { kind: 'unreachable'; source: string };

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
const SNAPSHOT_TIMEOUT_MS = 5000;

export class StatusFeed {
  readonly socket: string;
  readonly #deliver: (m: FeedMessage) => void;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #events: http.ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoff = BACKOFF_MIN_MS;

  constructor(socket: string, deliver: (m: FeedMessage) => void, log: Logger) {
    this.socket = socket;
    this.#deliver = deliver;
    this.#log = log.child({ socket });
    this.#connect();
  }

  #connect(): void {
    if (this.#abort.signal.aborted) return;
    let snapshotSeq: number | undefined;
    const early: PhaseChangeLine[] = [];
    const decoder = new NdjsonDecoder();
    let failed = false;
    const fail = (err: unknown, reachable: boolean) => {
      if (failed) return;
      failed = true;
      req.destroy();
      if (this.#abort.signal.aborted) return;
      this.#log.debug('status stream lost', { error: describeError(err) });
      if (!reachable) this.#deliver({ kind: 'unreachable', source: this.socket });
      this.#timer = setTimeout(() => this.#connect(), this.#backoff);
      this.#timer.unref();
      this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
    };
    const req = http.get({ socketPath: this.socket, path: '/events', agent: false }, (res) => {
      if (res.statusCode !== 200) return fail(unavailable(`GET /events answered ${res.statusCode}`), true);
      // Subscribed (the server registers before it sends headers): now the snapshot.
      readSnapshot(this.socket, this.#abort.signal)
        .then(({ seq, containers }) => {
          if (failed) return;
          snapshotSeq = seq;
          this.#backoff = BACKOFF_MIN_MS;
          this.#deliver({ kind: 'snapshot', source: this.socket, containers });
          for (const c of early.splice(0))
            if (c.seq > seq) this.#deliver({ kind: 'change', source: this.socket, change: c });
        })
        .catch((err: unknown) => fail(err, true));
      res.on('data', (chunk: Buffer) => {
        try {
          for (const value of decoder.push(chunk)) {
            const change = parseChange(value);
            if (snapshotSeq === undefined) early.push(change);
            else if (change.seq > snapshotSeq) this.#deliver({ kind: 'change', source: this.socket, change });
          }
        } catch (err) {
          fail(err, true);
        }
      });
      res.once('end', () => fail(unavailable('status stream ended'), true));
      res.once('error', (err) => fail(err, true));
    });
    this.#events = req;
    req.once('error', (err) => fail(err, false));
  }

  close(): void {
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#events?.destroy();
  }
}

/** GET /status: the containers and the sequence number they are current at. */
export function readSnapshot(
  socketPath: string,
  signal: AbortSignal,
): Promise<{ seq: number; containers: ContainerSnapshot[] }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { socketPath, path: '/status', agent: false, timeout: SNAPSHOT_TIMEOUT_MS, signal },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.once('error', reject);
        res.once('end', () => {
          try {
            if (res.statusCode !== 200) throw unavailable(`GET /status answered ${res.statusCode}`);
            const seq = Number(res.headers['x-zeropod-seq'] ?? 0);
            resolve({ seq, containers: parseSnapshot(JSON.parse(Buffer.concat(parts).toString('utf8'))) });
          } catch (err) {
            reject(err instanceof Error ? err : unavailable('bad status answer', { cause: err }));
          }
        });
      },
    );
    req.once('timeout', () => req.destroy(unavailable('GET /status timed out')));
    req.once('error', reject);
  });
}
