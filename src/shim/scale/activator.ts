/**
 * The activator: while a container sleeps (or is being checkpointed), its ports' new connections
 * are redirected here (nft, in the pod's netns). Each connection is held, never refused: probes
 * from this node are answered without a wake; anything else asks for a wake and, once the app is
 * back, is proxied to it. After the wake the redirect is removed and new connections go straight
 * to the app; the proxied ones live until they close or sit idle past proxy-timeout.
 *
 * Under a keeper (docs/restart-safety.md) a held connection outlives the worker: the keeper gets a
 * copy of it at once, and after the wake the keeper, not the worker, dials the app and proxies. The
 * worker never reads from a held client (accepted paused; a probe is told apart by peeking), so
 * nothing the client sent is lost with a worker; the next one finds the connections still held
 * and wakes the app for them.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DisposableStack2, describeError, internal, type Logger } from '../../base/index.ts';
import { dialApp, joinSockets, listenInNetns } from '../../netns/index.ts';
import { ACTIVATOR_MARK } from '../../nft/index.ts';
import { close as closeFd, peekSocket } from '../../sys/index.ts';
import type { SpliceTarget } from '../keeper/index.ts';
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
  /** A keeper's fd store: the listeners and the held connections outlive a worker. */
  fds?: ActivatorFds;
  /** Where each held connection's accept -> app reached time and the connections held now go. */
  wakes?: ClientWakes;
}

/**
 * What the activator keeps in a keeper (docs/restart-safety.md), per app port: its listening socket
 * (connections made while no worker runs wait in its backlog) and each held connection until the
 * keeper has joined it to the app.
 */
export interface ActivatorFds {
  inheritedListener(appPort: number): number | undefined;
  keepListener(appPort: number, fd: number): void;
  /** Connections a previous worker held and never joined: ours now (the fd is this process's copy). */
  inheritedHeld(): { key: string; appPort: number; fd: number }[];
  /** Gives the keeper a copy of a held connection; returns its key. */
  keepHeld(appPort: number, fd: number): string;
  /** The keeper dials the app and proxies the connection from now on. */
  splice(key: string, target: SpliceTarget): Promise<void>;
  dropHeld(key: string): void;
}

/** A connection waiting for the app: our own socket (no keeper), or one the keeper has a copy of. */
type Held = { kind: 'own'; socket: net.Socket } | { kind: 'kept'; key: string; release: () => void };

const PROBE_WAIT_MS = 300;
const PEEK_INTERVAL_MS = 10;

export class Activator {
  readonly #o: ActivatorOptions;
  readonly #stack = new DisposableStack2();
  readonly #servers: net.Server[] = [];
  /** Every socket we hold or proxy, destroyed on close (server.close waits for them otherwise). */
  readonly #sockets = new Set<net.Socket>();
  /** Held connections inherited from the last worker, as bare fds (see resumeHeld). */
  readonly #rawFds = new Set<number>();
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
        const kept = o.fds?.inheritedListener(appPort);
        // Paused: a held client's bytes stay in the kernel until whoever proxies it reads them.
        const server =
          kept === undefined
            ? await listenInNetns(o.netnsPath, {
                host: '::',
                port: 0,
                backlog: 1024,
                server: { pauseOnConnect: true },
              })
            : await listenOnFd(kept);
        const fd = fdOf(server);
        if (kept === undefined && fd !== undefined) o.fds?.keepListener(appPort, fd);
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

  /** Closes the listeners and our copies of held connections (a keeper keeps its own). */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    for (const fd of this.#rawFds) closeFd(fd);
    this.#rawFds.clear();
    await this.#stack.dispose();
  }

  /**
   * Takes up the connections the last worker held (call once the container's phase is known: each
   * asks for a wake). Their clients still wait, their bytes unread.
   */
  resumeHeld(): void {
    for (const h of this.#o.fds?.inheritedHeld() ?? []) {
      // Never wrapped in a net.Socket here: Node would start reading the client's bytes at once.
      this.#rawFds.add(h.fd);
      const release = () => {
        if (this.#rawFds.delete(h.fd)) closeFd(h.fd);
      };
      this.#o.log.info('a connection held by the last worker waits for the app', { appPort: h.appPort });
      void this.#hold({ kind: 'kept', key: h.key, release }, h.appPort, performance.now());
    }
  }

  async #handle(client: net.Socket, appPort: number): Promise<void> {
    const o = this.#o;
    const acceptedAt = performance.now(); // the client's wait starts here, probe sniffing included
    this.#track(client);
    client.on('error', (err) => o.log.debug('activator client error', { error: err }));
    const remote = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (o.probeDetection && o.nodeAddresses.has(remote)) {
      const verdict = await this.#sniff(client);
      if (verdict === 'http-probe' || verdict === 'tcp-probe') {
        this.probesAnswered++;
        // Read the request away first: closing with unread bytes resets, and the reset can
        // discard the answer before kubelet reads it.
        client.resume();
        if (verdict === 'http-probe') client.end(PROBE_RESPONSE);
        else client.destroy();
        o.log.debug('probe answered without a wake', { verdict, remote });
        return;
      }
    }
    const fd = fdOf(client);
    const held: Held =
      o.fds && fd !== undefined
        ? { kind: 'kept', key: o.fds.keepHeld(appPort, fd), release: () => client.destroy() }
        : { kind: 'own', socket: client };
    await this.#hold(held, appPort, acceptedAt);
  }

  /** Wakes the app for a held client, then joins the two (in the keeper when `key` says it has a copy). */
  async #hold(held: Held, appPort: number, acceptedAt: number): Promise<void> {
    const o = this.#o;
    this.accepted++;
    const unhold = o.wakes?.hold();
    try {
      await o.wake();
      if (held.kind === 'kept') {
        if (!o.fds) throw internal('a kept connection without a keeper');
        await o.fds.splice(held.key, {
          netnsPath: o.netnsPath,
          port: appPort,
          mark: ACTIVATOR_MARK,
          connectTimeoutMs: o.connectTimeoutMs,
          idleMs: o.proxyTimeoutMs,
        });
        held.release(); // our copy only: the keeper's carries the connection
      } else {
        const app = this.#track(
          await dialApp(o.netnsPath, { port: appPort, mark: ACTIVATOR_MARK, timeoutMs: o.connectTimeoutMs }),
        );
        void joinSockets(held.socket, app, { idleMs: o.proxyTimeoutMs });
      }
      const heldMs = performance.now() - acceptedAt;
      unhold?.();
      o.wakes?.reached(heldMs);
      o.log.debug('a held connection reached the app', {
        appPort,
        heldMs: Math.round(heldMs),
        keeper: held.kind === 'kept',
      });
    } catch (err) {
      o.log.warn('held connection could not reach the app', { appPort, error: describeError(err) });
      if (held.kind === 'kept') {
        o.fds?.dropHeld(held.key);
        held.release();
      } else held.socket.destroy();
    } finally {
      unhold?.();
    }
  }

  #track(s: net.Socket): net.Socket {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    return s;
  }

  /**
   * Looks at what a node-local client sends first without taking it (MSG_PEEK), until it is
   * recognised or the short wait is over: the bytes stay for the app.
   */
  async #sniff(client: net.Socket): Promise<ReturnType<typeof classify>> {
    const o = this.#o;
    const fd = fdOf(client);
    if (fd === undefined) return 'client';
    const deadline = performance.now() + PROBE_WAIT_MS;
    for (;;) {
      let seen: { bytes: Buffer; ended: boolean };
      try {
        seen = peekSocket(fd, o.probeBufferSize);
      } catch {
        return 'client'; // a reset client: it is closed below like any other
      }
      const verdict = classify(seen.bytes, seen.ended, o.probeBufferSize);
      if (verdict !== 'undecided') return verdict;
      if (performance.now() >= deadline)
        return seen.bytes.length === 0 ? 'client' : classify(seen.bytes, true, o.probeBufferSize);
      await sleep(PEEK_INTERVAL_MS);
    }
  }
}

/** Node has no public accessor for a socket's fd; the handle's is stable on Linux. */
function fdOf(s: net.Socket | net.Server): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A server on a listening socket this process inherited. */
function listenOnFd(fd: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true });
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
