/**
 * A ttrpc server on a unix socket. It listens on a path, on an inherited listening fd (the shim's
 * `start` may hand one to the daemon it spawns), or on a net.Server the caller made; in every
 * case it owns the listener from then on and closes it on shutdown.
 *
 *    created ──serve()──> serving ──shutdown()──> draining ──(all connections done)──> closed
 *       │                    │                       └──(timeout: forced)──────────────^
 *       └────────────────────┴──────────────────close()────────────────────────────────^
 *
 * Graceful `shutdown` stops accepting, lets each connection finish its requests in flight and
 * then closes it; after `timeoutMs` it falls back to `close`. Forced `close` destroys every
 * connection at once, aborting its handlers. Both return once every socket has closed. A handler
 * must not await `shutdown()` itself (it would wait for its own completion until the timeout).
 */
import net from 'node:net';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { StateMachine, failedPrecondition, silentLogger, type Logger } from '../base/index.ts';
import { DEFAULT_MAX_MESSAGE_SIZE } from './frame.ts';
import { ServerConnection } from './server-connection.ts';
import { ServiceRegistry, bindService, type MethodHandler, type ServiceImpl } from './service.ts';

export type ServerPhase = 'created' | 'serving' | 'draining' | 'closed';

export interface TtrpcServerOptions {
  logger?: Logger;
  /** Largest request accepted and response sent, in bytes. Default 4 MiB. */
  maxMessageSize?: number;
}

/** A socket path to listen on, an inherited listening fd, or a net.Server (which we then own). */
export type ListenTarget = string | { fd: number } | net.Server;

export interface ShutdownOptions {
  /** How long requests in flight may take before connections are destroyed. Default 10 s. */
  timeoutMs?: number;
}

export class TtrpcServer implements AsyncDisposable {
  readonly #services = new ServiceRegistry();
  readonly #connections = new Set<ServerConnection>();
  readonly #log: Logger;
  readonly #maxMessageSize: number;
  readonly #phase: StateMachine<ServerPhase>;
  #listener: net.Server | undefined;
  #nextConnectionId = 1;

  constructor(options: TtrpcServerOptions = {}) {
    this.#log = (options.logger ?? silentLogger).child({ component: 'ttrpc-server' });
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#phase = new StateMachine<ServerPhase>(
      'created',
      { created: ['serving', 'closed'], serving: ['draining', 'closed'], draining: ['closed'], closed: [] },
      this.#log,
    );
  }

  get phase(): ServerPhase {
    return this.#phase.phase;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Registers byte-level handlers under a service's full name ("containerd.task.v2.Task"). */
  register(service: string, methods: Record<string, MethodHandler>): this {
    this.#services.register(service, methods);
    return this;
  }

  /** Registers typed handlers for a generated service; methods left out answer UNIMPLEMENTED. */
  registerService<S extends GenServiceMethods>(service: GenService<S>, impl: ServiceImpl<S>): this {
    return this.register(service.typeName, bindService(service, impl));
  }

  /** Starts accepting connections; resolves once listening. */
  async serve(target: ListenTarget): Promise<void> {
    if (!this.#phase.is('created'))
      throw failedPrecondition('ttrpc server already started', { details: { phase: this.phase } });
    const listener = target instanceof net.Server ? target : await listen(target);
    if (!this.#phase.is('created')) {
      // close() ran while we were binding.
      listener.close();
      throw failedPrecondition('ttrpc server closed while starting');
    }
    this.#listener = listener;
    listener.on('connection', (socket: net.Socket) => this.#accept(socket));
    listener.on('error', (err) => this.#log.error('ttrpc listener error', { error: err }));
    this.#phase.transition('serving');
  }

  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.#phase.is('created', 'closed')) return this.close();
    if (this.#phase.is('serving')) {
      this.#phase.transition('draining');
      this.#closeListener();
      for (const connection of this.#connections) connection.drain();
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs).unref();
    });
    const forced = await Promise.race([this.#allClosed().then(() => false), timedOut]);
    clearTimeout(timer);
    if (forced) {
      this.#log.warn('ttrpc graceful shutdown timed out; forcing', {
        timeoutMs,
        connections: this.#connections.size,
      });
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (!this.#phase.is('closed')) this.#phase.transition('closed');
    this.#closeListener();
    for (const connection of this.#connections) connection.destroy();
    await this.#allClosed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(socket: net.Socket): void {
    if (!this.#phase.is('serving')) {
      socket.destroy();
      return;
    }
    const id = this.#nextConnectionId++;
    const connection = new ServerConnection(socket, {
      services: this.#services,
      log: this.#log.child({ connection: id }),
      maxMessageSize: this.#maxMessageSize,
      onClose: (c) => this.#connections.delete(c),
    });
    this.#connections.add(connection);
  }

  #closeListener(): void {
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener === undefined) return;
    listener.close((err) => {
      if (err !== undefined) this.#log.debug('ttrpc listener close', { error: err });
    });
  }

  async #allClosed(): Promise<void> {
    await Promise.all([...this.#connections].map((c) => c.closed));
  }
}

function listen(target: string | { fd: number }): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      reject(failedPrecondition('ttrpc server cannot listen', { cause: err, details: { target } }));
    };
    server.once('error', onError);
    server.listen(typeof target === 'string' ? { path: target } : { fd: target.fd }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}
