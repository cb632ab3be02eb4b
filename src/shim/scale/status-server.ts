/**
 * The shim's local status API, for a node manager and the CLI: HTTP on a unix socket.
 *   GET /status  -> JSON: every scaled container's phase, ports, counts and durations
 *   GET /events  -> one JSON line per phase change, streamed until the client leaves
 *
 * Both carry the pod's identity (from the CRI's annotations) and `seq`, a number that grows with every
 * phase change of this server: a client that subscribes to /events, then reads /status, drops the
 * events it already sees in the snapshot (seq <= the snapshot's). Each container's checkpoint and
 * restore durations are kept (the last MAX_DURATIONS) with the wall-clock time of the last of each, so
 * a manager that restarts rebuilds its histograms exactly instead of starting them empty.
 */
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from '../../base/index.ts';
import { pagesBytes } from './processes-and-images.ts';
import type { ScaledContainer } from './scaled-container.ts';

/** Durations kept per container and kind: enough for any histogram a scrape interval misses. */
const MAX_DURATIONS = 1000;

const POD_ANNOTATIONS = {
  pod: 'io.kubernetes.cri.sandbox-name',
  namespace: 'io.kubernetes.cri.sandbox-namespace',
  podUid: 'io.kubernetes.cri.sandbox-uid',
} as const;

interface History {
  checkpointsMs: number[];
  restoresMs: number[];
  lastCheckpointAt?: number;
  lastRestoreAt?: number;
  /** Memory pages in the image while the container sleeps: what its process held, freed now. */
  asleepBytes: number;
}

function keep(list: number[], value: number | undefined): void {
  if (value === undefined) return;
  list.push(value);
  if (list.length > MAX_DURATIONS) list.splice(0, list.length - MAX_DURATIONS);
}

/**
 * What clients see (additive fields, read by the manager at each scrape): connections held now (by
 * the activator, and the dumped connections whose peers wait while the app sleeps), the wakes
 * clients waited for and the newest accept -> app reached latencies.
 */
function trafficOf(s: ScaledContainer): {
  connectionsHeld: number;
  clientWakes: number;
  wakeLatenciesMs: number[];
} {
  const dumped = s.state.is('scaled-down', 'restoring') ? s.record().heldConnections : 0;
  return {
    connectionsHeld: s.clientWakes.holding + dumped,
    clientWakes: s.clientWakes.count,
    wakeLatenciesMs: s.clientWakes.latenciesMs,
  };
}

export class StatusServer {
  readonly #socket: string;
  readonly #list: () => ScaledContainer[];
  readonly #log: Logger;
  readonly #subscribers = new Set<http.ServerResponse>();
  readonly #history = new WeakMap<ScaledContainer, History>();
  #seq = 0;
  #server: http.Server | undefined;

  constructor(socket: string, list: () => ScaledContainer[], log: Logger) {
    this.#socket = socket;
    this.#list = list;
    this.#log = log;
  }

  async start(): Promise<void> {
    mkdirSync(path.dirname(this.#socket), { recursive: true, mode: 0o700 });
    rmSync(this.#socket, { force: true });
    const server = http.createServer((req, res) => this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#socket, () => resolve());
    });
  }

  watch(s: ScaledContainer): void {
    const history: History = { checkpointsMs: [], restoresMs: [], asleepBytes: 0 };
    this.#history.set(s, history);
    s.state.onChange((change) => {
      const at = Date.now();
      if (change.from === 'checkpointing' && change.to === 'scaled-down') {
        keep(history.checkpointsMs, s.stats.lastCheckpointMs);
        history.lastCheckpointAt = at;
        history.asleepBytes = pagesBytes(s.imagePath);
      } else if (change.from === 'restoring' && change.to === 'running') {
        keep(history.restoresMs, s.stats.lastRestoreMs);
        history.lastRestoreAt = at;
      }
      if (change.to === 'running' || change.to === 'stopped') history.asleepBytes = 0;
      const line =
        JSON.stringify({
          seq: ++this.#seq,
          at,
          container: s.container.id,
          name: s.name,
          ...this.#podOf(s),
          ...change,
          asleepBytes: history.asleepBytes,
          stats: s.stats,
        }) + '\n';
      for (const res of this.#subscribers) res.write(line);
    });
  }

  #podOf(s: ScaledContainer): { pod: string; namespace: string; podUid: string } {
    const a = s.container.spec.annotations ?? {};
    return {
      pod: a[POD_ANNOTATIONS.pod] ?? '',
      namespace: a[POD_ANNOTATIONS.namespace] ?? '',
      podUid: a[POD_ANNOTATIONS.podUid] ?? '',
    };
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === '/status') {
      const body = this.#list().map((s) => ({
        container: s.container.id,
        name: s.name,
        ...this.#podOf(s),
        phase: s.state.phase,
        ports: s.ports,
        scaledownMs: s.config.scaledownMs,
        ...s.stats,
        ...this.#history.get(s),
        ...trafficOf(s),
      }));
      // The array stays the body (existing readers); the sequence number rides in a header.
      res
        .writeHead(200, { 'content-type': 'application/json', 'x-zeropod-seq': String(this.#seq) })
        .end(JSON.stringify(body));
      return;
    }
    if (req.url === '/events') {
      this.#subscribers.add(res);
      // Headers out now, not with the first event: a client that sees them knows it is subscribed.
      res.writeHead(200, { 'content-type': 'application/x-ndjson' }).flushHeaders();
      res.once('close', () => this.#subscribers.delete(res));
      return;
    }
    res.writeHead(404).end();
  }

  async close(): Promise<void> {
    for (const res of this.#subscribers) res.end();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    rmSync(this.#socket, { force: true });
    this.#log.debug('status API closed');
  }
}
