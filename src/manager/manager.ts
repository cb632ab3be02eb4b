/**
 * The node manager: follows every shim's status on this node, keeps the pods' status labels and
 * events in step with the phases, and serves the metrics. Its state is only the node view, rebuilt
 * from the shims on every (re)connect, so a restart of either side loses nothing the shims know.
 */
import http from 'node:http';
import { describeError, type Logger } from '../base/index.ts';
import type { KubeApi } from './kube-api.ts';
import { ManagerMetrics } from './metrics.ts';
import { NodeView, type Effect } from './node-view.ts';
import type { ManagerOptions } from './options.ts';
import { StatusDir } from './status-dir.ts';
import { readSnapshot, type FeedMessage } from './status-feed.ts';
import { StatusWriter } from './status-writer.ts';
import { WakeDeferral } from './wake-deferral.ts';

export class Manager {
  readonly view = new NodeView();
  readonly metrics = new ManagerMetrics(this.view, () => this.#readTraffic());
  readonly #writer: StatusWriter;
  readonly #deferral: WakeDeferral;
  readonly #log: Logger;
  readonly #opts: ManagerOptions;
  #dir: StatusDir | undefined;
  #server: http.Server | undefined;

  constructor(opts: ManagerOptions, api: KubeApi, log: Logger) {
    this.#opts = opts;
    this.#log = log;
    this.#writer = new StatusWriter(api, log.child({ component: 'status-writer' }));
    this.#deferral = new WakeDeferral((e) => {
      this.#writer
        .apply(e)
        .catch((err: unknown) => this.#log.error('status write failed', { error: describeError(err) }));
    }, opts.wakeDeferMs);
  }

  /** Serves the metrics, then follows the shims. Resolves once the metrics port listens. */
  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.#serve(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.metricsPort, this.#opts.metricsHost, () => resolve());
    });
    this.#log.info('metrics listening', { host: this.#opts.metricsHost, port: this.#opts.metricsPort });
    this.#dir = new StatusDir(this.#opts.statusDir, (m) => this.#onFeed(m), this.#log);
  }

  #onFeed(m: FeedMessage): void {
    let effects: Effect[] = [];
    let wake = false;
    switch (m.kind) {
      case 'snapshot':
        this.#log.info('status snapshot', { socket: m.source, containers: m.containers.length });
        effects = this.view.snapshot(m.source, m.containers);
        break;
      case 'change': {
        const c = m.change;
        const duration =
          c.to === 'scaled-down'
            ? c.counts.lastCheckpointMs
            : c.from === 'restoring'
              ? c.counts.lastRestoreMs
              : undefined;
        this.#log.info('status event', {
          container: c.name,
          pod: c.pod.name,
          namespace: c.pod.namespace,
          from: c.from,
          phase: c.to,
          ...(duration === undefined ? {} : { durationMs: duration }),
        });
        effects = this.view.change(m.source, c);
        wake = c.to === 'restoring' || c.from === 'restoring';
        break;
      }
      case 'unreachable':
        this.view.unreachable(m.source);
        break;
    }
    this.#deferral.push(effects, wake);
  }

  /**
   * At a scrape, each shim's status once more for what changes without a phase change (connections
   * held while asleep, the clients' wake latencies measured after the wake's event): a pull when
   * Prometheus pulls, not a poll. A shim that does not answer within a second keeps its last values.
   */
  async #readTraffic(): Promise<void> {
    const sources = new Set([...this.view.containers.values()].map((t) => t.source));
    await Promise.all(
      [...sources].map((source) =>
        readSnapshot(source, AbortSignal.timeout(1000))
          .then(({ containers }) => this.view.traffic(source, containers))
          .catch((err: unknown) =>
            this.#log.debug('status read at scrape failed', { socket: source, error: describeError(err) }),
          ),
      ),
    );
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (req.url === '/metrics') {
        const body = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType }).end(body);
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      this.#log.error('metrics request failed', { error: describeError(err) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  }

  /** Stops following and serving (bounded: open scrapes are cut after a second). */
  async close(): Promise<void> {
    this.#dir?.close();
    this.#deferral.flush();
    this.#writer.close();
    const server = this.#server;
    if (!server) return;
    const cut = setTimeout(() => server.closeAllConnections(), 1000);
    cut.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(cut);
  }
}
