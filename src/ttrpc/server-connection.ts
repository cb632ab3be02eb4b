/**
 * One accepted ttrpc connection: its decoder, the requests in flight on it, the last stream id it
 * saw. Requests run concurrently; each response goes out as soon as its handler settles, so
 * responses may return out of order (the stream id matches them up).
 *
 *    open ──drain()──> draining ──(in flight = 0: flush, close)──> closed
 *      └────────────── socket closed / destroy() ─────────────────────^
 *
 * While draining, new requests are answered with UNAVAILABLE. When the socket closes, every
 * handler still running sees its signal abort; its late response is dropped.
 */
import type { Socket } from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ErrorCode,
  StateMachine,
  canceled,
  codeOf,
  deadlineExceeded,
  describeError,
  type Logger,
} from '../base/index.ts';
import {
  RequestSchema,
  ResponseSchema,
  type Request,
} from '../gen/github.com/containerd/ttrpc/request_pb.js';
import type { Status } from '../gen/proto/status_pb.js';
import { FrameDecoder, type Decoded } from './codec.ts';
import { Flag, MessageType, encodeFrame, type Frame } from './frame.ts';
import { metadataFromWire, type MethodHandler, type ServiceRegistry } from './service.ts';
import { GrpcCode, newStatus, statusFromError } from './status.ts';

export type ConnectionPhase = 'open' | 'draining' | 'closed';

export interface ServerConnectionOptions {
  services: ServiceRegistry;
  log: Logger;
  maxMessageSize: number;
  onClose: (connection: ServerConnection) => void;
}

/** setTimeout's limit; longer request timeouts are treated as no timeout. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ServerConnection {
  readonly #socket: Socket;
  readonly #services: ServiceRegistry;
  readonly #log: Logger;
  readonly #decoder: FrameDecoder;
  readonly #phase: StateMachine<ConnectionPhase>;
  readonly #inflight = new Map<number, AbortController>();
  #lastStreamId = 0;
  readonly closed: Promise<void>;

  constructor(socket: Socket, options: ServerConnectionOptions) {
    this.#socket = socket;
    this.#services = options.services;
    this.#log = options.log;
    this.#decoder = new FrameDecoder({ maxMessageSize: options.maxMessageSize });
    this.#phase = new StateMachine<ConnectionPhase>(
      'open',
      { open: ['draining', 'closed'], draining: ['closed'], closed: [] },
      options.log,
    );
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#onClose();
        options.onClose(this);
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.#decoder.push(chunk)) this.#onDecoded(item);
    });
    socket.on('error', (err) => this.#log.debug('ttrpc connection error', { error: err }));
  }

  get phase(): ConnectionPhase {
    return this.#phase.phase;
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** Stops taking requests; the connection closes once the ones in flight have answered. */
  drain(): void {
    if (!this.#phase.is('open')) return;
    this.#phase.transition('draining');
    this.#closeIfDrained();
  }

  /** Closes now; handlers still running see their signal abort. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onDecoded(item: Decoded): void {
    if (item.kind === 'oversize') {
      const { streamId, length } = item.header;
      const max = this.#decoder.maxMessageSize;
      this.#log.warn('ttrpc message too large', { streamId, length, max });
      this.#reject(
        streamId,
        GrpcCode.RESOURCE_EXHAUSTED,
        `message length ${length} exceeds maximum message size of ${max}`,
      );
      return;
    }
    const { frame } = item;
    if (frame.streamId % 2 !== 1) {
      this.#reject(
        frame.streamId,
        GrpcCode.INVALID_ARGUMENT,
        'stream id must be odd for client-initiated streams',
      );
    } else if (frame.type === MessageType.Request) {
      this.#onRequest(frame);
    } else if (frame.type === MessageType.Data) {
      this.#onStreamData(frame);
    } else {
      // Unknown types are ignored for compatibility with future peers, as containerd's ttrpc does.
      this.#log.debug('ttrpc frame of unexpected type ignored', {
        streamId: frame.streamId,
        type: frame.type,
      });
    }
  }

  #onRequest(frame: Frame): void {
    const id = frame.streamId;
    if (id <= this.#lastStreamId) {
      this.#reject(id, GrpcCode.INVALID_ARGUMENT, 'stream id cannot be reused and must increase');
      return;
    }
    this.#lastStreamId = id;
    if (!this.#phase.is('open')) {
      this.#reject(id, GrpcCode.UNAVAILABLE, 'ttrpc server is shutting down');
      return;
    }
    if ((frame.flags & (Flag.RemoteOpen | Flag.RemoteClosed)) !== 0) {
      this.#reject(id, GrpcCode.UNIMPLEMENTED, 'streaming requests are not supported');
      return;
    }
    let request: Request;
    try {
      request = fromBinary(RequestSchema, frame.payload);
    } catch (err) {
      this.#reject(id, GrpcCode.INVALID_ARGUMENT, `cannot decode request: ${describeError(err)}`);
      return;
    }
    const { service, method } = request;
    const handler = this.#services.lookup(service, method);
    if (handler === undefined) {
      const what = this.#services.hasService(service) ? `method ${service}/${method}` : `service ${service}`;
      this.#reject(id, GrpcCode.UNIMPLEMENTED, what);
      return;
    }
    void this.#dispatch(id, request, handler);
  }

  #onStreamData(frame: Frame): void {
    const id = frame.streamId;
    if (this.#inflight.has(id)) {
      this.#log.warn('ttrpc data frame on a unary stream ignored', { streamId: id });
    } else if (id > this.#lastStreamId) {
      this.#reject(id, GrpcCode.UNIMPLEMENTED, 'streaming is not supported');
    } else {
      // The tail of a stream we already answered (for example a rejected streaming request).
      this.#log.debug('ttrpc data frame on a finished stream dropped', { streamId: id });
    }
  }

  async #dispatch(streamId: number, request: Request, handler: MethodHandler): Promise<void> {
    const { service, method } = request;
    const controller = new AbortController();
    this.#inflight.set(streamId, controller);
    const timeoutMs = Math.ceil(Number(request.timeoutNano) / 1e6);
    const timer =
      timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS
        ? setTimeout(() => {
            controller.abort(
              deadlineExceeded('ttrpc request timed out', { details: { service, method, timeoutMs } }),
            );
          }, timeoutMs).unref()
        : undefined;
    const ctx = { signal: controller.signal, metadata: metadataFromWire(request.metadata), service, method };
    try {
      const payload = await handler(request.payload, ctx);
      this.#respond(streamId, newStatus(GrpcCode.OK), payload);
    } catch (err) {
      const code = codeOf(err);
      const fields = { streamId, service, method, code, error: err };
      if (code === ErrorCode.Internal) this.#log.error('ttrpc handler failed', fields);
      else this.#log.debug('ttrpc handler failed', fields);
      this.#respond(streamId, statusFromError(err));
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(streamId);
      this.#closeIfDrained();
    }
  }

  #reject(streamId: number, code: GrpcCode, message: string): void {
    this.#log.debug('ttrpc request rejected', { streamId, code, message });
    this.#respond(streamId, newStatus(code, message));
  }

  /** Never throws: a response that cannot be encoded becomes an error status instead. */
  #respond(streamId: number, status: Status, payload: Uint8Array = new Uint8Array(0)): void {
    if (!this.#socket.writable) {
      this.#log.debug('ttrpc response dropped: connection closing', { streamId });
      return;
    }
    const max = this.#decoder.maxMessageSize;
    let bytes: Uint8Array;
    try {
      bytes = toBinary(ResponseSchema, create(ResponseSchema, { status, payload }));
    } catch (err) {
      this.#log.error('ttrpc response not encodable', { streamId, error: err });
      bytes = toBinary(ResponseSchema, create(ResponseSchema, { status: statusFromError(err) }));
    }
    if (bytes.length > max) {
      const message = `response length ${bytes.length} exceeds maximum message size of ${max}`;
      this.#log.warn('ttrpc response too large', { streamId, length: bytes.length, max });
      bytes = toBinary(
        ResponseSchema,
        create(ResponseSchema, { status: newStatus(GrpcCode.RESOURCE_EXHAUSTED, message) }),
      );
    }
    this.#socket.write(encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload: bytes }, max));
  }

  #closeIfDrained(): void {
    if (!this.#phase.is('draining') || this.#inflight.size > 0 || !this.#socket.writable) return;
    // Flush what is written, then close without waiting for the peer to hang up.
    this.#socket.end(() => this.#socket.destroy());
  }

  #onClose(): void {
    if (!this.#decoder.atBoundary) this.#log.debug('ttrpc connection closed mid-frame');
    this.#phase.transition('closed');
    for (const controller of this.#inflight.values()) controller.abort(canceled('ttrpc connection closed'));
  }
}
