/**
 * The activator: while a container sleeps (or is being checkpointed), its ports' new connections
 * are redirected here (nft, in the pod's netns). Each connection is held, never refused: probes
 * from this node are answered without a wake; anything else asks for a wake and, once the app is
 * back, is proxied to it. After the wake the redirect is removed and new connections go straight
 * to the app; the proxied ones live until they close or sit idle past proxy-timeout.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DisposableStack2, describeError, type Logger } from '../../base/index.ts';
import { dialInNetns, listenInNetns } from '../../netns/index.ts';
import { ACTIVATOR_MARK } from '../../nft/index.ts';
import type { ClientWakes } from './client-wakes.ts';
import { classify, PROBE_RESPONSE } from './probe.ts';

export interface ActivatorOptions {
  netnsPath: string;
  appPorts: readonly number[];
  nodeAddresses: ReadonlySet<string>;
  probeDetection: boolean;
  probeBufferSize: number;
  connectTimeoutMs: number;
  proxyTimeoutMs: number;
  log: Logger;
  /** Resolves when the app accepts connections again; rejects if it cannot be brought back. */
  wake: () => Promise<void>;
  /**
   * Listening sockets kept across a worker restart (docs/restart-safety.md): `inherited` gives the
   * one a keeper kept for an app port (connections made meanwhile wait in its backlog), `keep`
   * hands a new one to the keeper.
   */
  listeners?: { inherited(appPort: number): number | undefined; keep(appPort: number, fd: number): void };
  /** Where each held connection's accept -> app reached time and the connections held now go. */
  wakes?: ClientWakes;
}

const PROBE_WAIT_MS = 300;

export class Activator {
  readonly #o: ActivatorOptions;
  readonly #stack = new DisposableStack2();
  readonly #servers: net.Server[] = [];
  /** Every socket we hold or proxy, destroyed on close (server.close waits for them otherwise). */
  readonly #sockets = new Set<net.Socket>();
  /** Connections accepted since the last reset (the checkpoint uses it to see a wake coming). */
  accepted = 0;
  probesAnswered = 0;

  private constructor(o: ActivatorOptions) {
    this.#o = o;
  }

  static async start(o: ActivatorOptions): Promise<Activator> {
    const a = new Activator(o);
    try {
      for (const appPort of o.appPorts) {
        const kept = o.listeners?.inherited(appPort);
        const server =
          kept === undefined
            ? await listenInNetns(o.netnsPath, { host: '::', port: 0, backlog: 1024 })
            : await listenOnFd(kept);
        // Node has no public accessor for a listening socket's fd; the handle's is stable on Linux.
        const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
        if (kept === undefined && typeof fd === 'number' && fd >= 0) o.listeners?.keep(appPort, fd);
        a.#stack.defer(() => new Promise<void>((r) => server.close(() => r())));
        server.on('connection', (sock) => void a.#handle(sock, appPort));
        a.#servers.push(server);
      }
      return a;
    } catch (err) {
      await a.#stack.dispose();
      throw err;
    }
  }

  /** The activator's ports, parallel to the app's. */
  get ports(): number[] {
    return this.#servers.map((s) => (s.address() as net.AddressInfo).port);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await this.#stack.dispose();
  }

  async #handle(client: net.Socket, appPort: number): Promise<void> {
    const o = this.#o;
    const acceptedAt = performance.now(); // the client's wait starts here, probe sniffing included
    this.#track(client);
    client.pause();
    client.on('error', (err) => o.log.debug('activator client error', { error: err }));
    const remote = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    let buffered: Buffer = Buffer.alloc(0);
    if (o.probeDetection && o.nodeAddresses.has(remote)) {
      const verdict = await this.#sniff(client, (b) => (buffered = b));
      if (verdict === 'http-probe' || verdict === 'tcp-probe') {
        this.probesAnswered++;
        if (verdict === 'http-probe') client.end(PROBE_RESPONSE);
        else client.destroy();
        o.log.debug('probe answered without a wake', { verdict, remote });
        return;
      }
    }
    this.accepted++;
    const unhold = o.wakes?.hold();
    try {
      await o.wake();
      const app = this.#track(await this.#dial(appPort));
      const heldMs = performance.now() - acceptedAt;
      unhold?.();
      o.wakes?.reached(heldMs);
      o.log.debug('proxying a held connection', { remote, appPort, heldMs: Math.round(heldMs) });
      this.#pipe(client, app, buffered);
    } catch (err) {
      o.log.warn('held connection could not reach the app', { remote, appPort, error: describeError(err) });
      client.destroy();
    } finally {
      unhold?.();
    }
  }

  #track(s: net.Socket): net.Socket {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    return s;
  }

  /** Reads what a node-local client sends first, up to the probe buffer or a short wait. */
  #sniff(client: net.Socket, keep: (b: Buffer) => void): Promise<ReturnType<typeof classify>> {
    const o = this.#o;
    return new Promise((resolve) => {
      let buf: Buffer = Buffer.alloc(0);
      let ended = false;
      const finish = (v: ReturnType<typeof classify>) => {
        clearTimeout(timer);
        client.off('data', onData);
        client.off('end', onEnd);
        client.off('close', onEnd);
        client.pause();
        keep(buf);
        resolve(v);
      };
      const decide = () => {
        const v = classify(buf, ended, o.probeBufferSize);
        if (v !== 'undecided') finish(v);
      };
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        decide();
      };
      const onEnd = () => {
        ended = true;
        decide();
      };
      const timer = setTimeout(
        () => finish(buf.length === 0 ? 'client' : classify(buf, true, o.probeBufferSize)),
        PROBE_WAIT_MS,
      );
      client.on('data', onData);
      client.once('end', onEnd);
      client.once('close', onEnd);
      client.resume();
    });
  }

  /** Connects to the app inside the pod, retrying while it comes up, within connect-timeout. */
  async #dial(port: number): Promise<net.Socket> {
    const deadline = performance.now() + this.#o.connectTimeoutMs;
    let lastErr: unknown;
    for (let delay = 1; performance.now() < deadline; delay = Math.min(delay * 2, 20)) {
      for (const host of ['127.0.0.1', '::1']) {
        try {
          return await dialInNetns(
            this.#o.netnsPath,
            { host, port, mark: ACTIVATOR_MARK },
            AbortSignal.timeout(Math.max(1, Math.ceil(deadline - performance.now()))),
          );
        } catch (err) {
          lastErr = err;
        }
      }
      await sleep(delay);
    }
    throw new Error(`app port ${port} did not accept within connect-timeout ${this.#o.connectTimeoutMs} ms`, {
      cause: lastErr,
    });
  }

  #pipe(client: net.Socket, app: net.Socket, first: Buffer): void {
    const timeout = this.#o.proxyTimeoutMs;
    for (const s of [client, app]) {
      s.setTimeout(timeout, () => {
        client.destroy();
        app.destroy();
      });
      s.on('error', () => {
        client.destroy();
        app.destroy();
      });
    }
    if (first.length > 0) app.write(first);
    client.pipe(app);
    app.pipe(client);
    client.resume();
  }
}

/** A server on a listening socket this process inherited. */
function listenOnFd(fd: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
