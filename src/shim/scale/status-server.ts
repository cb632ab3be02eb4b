/**
 * The shim's local status API, for a node manager and the CLI: HTTP on a unix socket.
 *   GET /status  -> JSON: every scaled container's phase, ports, counts and durations
 *   GET /events  -> one JSON line per phase change, streamed until the client leaves
 */
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from '../../base/index.ts';
import type { ScaledContainer } from './scaled-container.ts';

export class StatusServer {
  readonly #socket: string;
  readonly #list: () => ScaledContainer[];
  readonly #log: Logger;
  readonly #subscribers = new Set<http.ServerResponse>();
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
    s.state.onChange((change) => {
      const line =
        JSON.stringify({ container: s.container.id, name: s.name, ...change, stats: s.stats }) + '\n';
      for (const res of this.#subscribers) res.write(line);
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === '/status') {
      const body = this.#list().map((s) => ({
        container: s.container.id,
        name: s.name,
        phase: s.state.phase,
        ports: s.ports,
        scaledownMs: s.config.scaledownMs,
        ...s.stats,
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      this.#subscribers.add(res);
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
