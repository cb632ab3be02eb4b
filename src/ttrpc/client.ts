/**
 * A ttrpc client on one unix socket connection. Calls get odd, increasing stream ids and are
 * matched to responses by id, so any number may be in flight. When the connection closes, for
 * whatever reason, every pending call fails with Unavailable and the client stays closed (make a
 * new one to reconnect).
 *
 *    open ──(socket closed | close())──> closed
 *
 * containerd's shims use this to publish events: service "containerd.services.events.ttrpc.v1.Events",
 * method "Forward".
 */
import net from 'node:net';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import {
  StateMachine,
  canceled,
  deadlineExceeded,
  internal,
  invalidArgument,
  silentLogger,
  unavailable,
  ZeropodError,
  type Logger,
} from '../base/index.ts';
import { RequestSchema, ResponseSchema } from '../gen/github.com/containerd/ttrpc/request_pb.js';
import { FrameDecoder, type Decoded } from './codec.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, MessageType, encodeFrame } from './frame.ts';
import { metadataToWire, type Metadata } from './service.ts';
import { errorFromStatus } from './status.ts';

export interface CallOptions {
  signal?: AbortSignal;
  /** Sent to the server as timeout_nano and enforced here too; a positive, finite number. */
  timeoutMs?: number;
  metadata?: Metadata;
}

export interface TtrpcClientOptions {
  logger?: Logger;
  /** Largest request sent and response accepted, in bytes. Default 4 MiB. */
  maxMessageSize?: number;
}

export interface ConnectOptions extends TtrpcClientOptions {
  signal?: AbortSignal;
}

/** A unary method descriptor; generated services provide these (`Events.method.forward`). */
export interface UnaryMethod<I extends DescMessage, O extends DescMessage> {
  readonly name: string;
  readonly parent: { readonly typeName: string };
  readonly methodKind: 'unary';
  readonly input: I;
  readonly output: O;
}

export type ClientPhase = 'open' | 'closed';

interface PendingCall {
  service: string;
  method: string;
  settle(result: { payload: Uint8Array } | { error: ZeropodError }): void;
}

const UINT32_MAX = 0xffff_ffff;
/** setTimeout's limit; longer timeouts are left to the server. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TtrpcClient implements AsyncDisposable {
  readonly #socket: net.Socket;
  readonly #log: Logger;
  readonly #decoder: FrameDecoder;
  readonly #phase: StateMachine<ClientPhase>;
  readonly #pending = new Map<number, PendingCall>();
  #nextStreamId = 1;
  #lastError: Error | undefined;
  /** Resolves when the connection is gone; never rejects. */
  readonly closed: Promise<void>;

  /** Connects to a ttrpc server listening on the unix socket at `path`. */
  static connect(path: string, options: ConnectOptions = {}): Promise<TtrpcClient> {
    const { signal, ...clientOptions } = options;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path });
      const cleanup = () => {
        socket.off('error', onError);
        socket.off('connect', onConnect);
        signal?.removeEventListener('abort', onAbort);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(unavailable('cannot connect to ttrpc server', { cause: err, details: { path } }));
      };
      const onAbort = () => {
        cleanup();
        socket.destroy();
        reject(canceled('ttrpc connect canceled', { cause: signal?.reason, details: { path } }));
      };
      const onConnect = () => {
        cleanup();
        resolve(new TtrpcClient(socket, clientOptions));
      };
      if (signal?.aborted) return onAbort();
      socket.once('error', onError);
      socket.once('connect', onConnect);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wraps a connected socket; the client owns it from now on. */
  constructor(socket: net.Socket, options: TtrpcClientOptions = {}) {
    this.#socket = socket;
    this.#log = (options.logger ?? silentLogger).child({ component: 'ttrpc-client' });
    this.#decoder = new FrameDecoder({ maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE });
    this.#phase = new StateMachine<ClientPhase>('open', { open: ['closed'], closed: [] }, this.#log);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#onClose();
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.#decoder.push(chunk)) this.#onDecoded(item);
    });
    socket.on('error', (err) => {
      this.#lastError = err;
      this.#log.debug('ttrpc connection error', { error: err });
    });
    if (socket.destroyed) this.#onClose();
  }

  get phase(): ClientPhase {
    return this.#phase.phase;
  }

  /** Calls `service`/`method` with an encoded request; resolves with the encoded response. */
  call(service: string, method: string, payload: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    const { signal, timeoutMs, metadata } = options;
    const details = { service, method };
    if (!this.#phase.is('open')) return Promise.reject(unavailable('ttrpc client is closed', { details }));
    if (signal?.aborted)
      return Promise.reject(canceled('ttrpc call canceled', { cause: signal.reason, details }));
    if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      return Promise.reject(
        invalidArgument('ttrpc call timeout must be positive', { details: { ...details, timeoutMs } }),
      );
    }
    if (this.#nextStreamId > UINT32_MAX)
      return Promise.reject(unavailable('ttrpc stream ids exhausted', { details }));
    const streamId = this.#nextStreamId;
    let frame: Buffer;
    try {
      const request = create(RequestSchema, { service, method, payload, metadata: metadataToWire(metadata) });
      if (timeoutMs !== undefined) request.timeoutNano = BigInt(Math.ceil(timeoutMs * 1e6));
      frame = encodeFrame(
        { streamId, type: MessageType.Request, flags: 0, payload: toBinary(RequestSchema, request) },
        this.#decoder.maxMessageSize,
      );
    } catch (err) {
      return Promise.reject(
        err instanceof ZeropodError
          ? err
          : invalidArgument('cannot encode ttrpc request', { cause: err, details }),
      );
    }
    this.#nextStreamId += 2;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer =
        timeoutMs === undefined || timeoutMs > MAX_TIMER_MS
          ? undefined
          : setTimeout(() => {
              settle({
                error: deadlineExceeded('ttrpc call timed out', { details: { ...details, timeoutMs } }),
              });
            }, timeoutMs).unref();
      const onAbort = () =>
        settle({ error: canceled('ttrpc call canceled', { cause: signal?.reason, details }) });
      const settle: PendingCall['settle'] = (result) => {
        if (!this.#pending.delete(streamId)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if ('payload' in result) resolve(result.payload);
        else reject(result.error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(streamId, { service, method, settle });
      this.#socket.write(frame);
    });
  }

  /** Typed call through a method descriptor: `client.unary(Events.method.forward, { envelope })`. */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: UnaryMethod<I, O>,
    request: MessageInitShape<I>,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    const bytes = toBinary(method.input, create(method.input, request));
    const response = await this.call(method.parent.typeName, method.name, bytes, options);
    try {
      return fromBinary(method.output, response);
    } catch (err) {
      throw internal(`cannot decode ${method.output.typeName}`, { cause: err });
    }
  }

  /** Closes the connection; pending calls fail with Unavailable. */
  close(): Promise<void> {
    this.#socket.destroy();
    return this.closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onDecoded(item: Decoded): void {
    const streamId = item.kind === 'frame' ? item.frame.streamId : item.header.streamId;
    const call = this.#pending.get(streamId);
    if (call === undefined) {
      // Typically the answer to a call that already timed out or was canceled here.
      this.#log.debug('ttrpc message for an inactive stream dropped', { streamId });
      return;
    }
    const details = { service: call.service, method: call.method, streamId };
    if (item.kind === 'oversize') {
      const { length } = item.header;
      const max = this.#decoder.maxMessageSize;
      call.settle({
        error: internal('ttrpc response exceeds the maximum message size', {
          details: { ...details, length, max },
        }),
      });
      return;
    }
    if (item.frame.type !== MessageType.Response) {
      const type = item.frame.type;
      call.settle({
        error: internal('ttrpc protocol error: unexpected message type', { details: { ...details, type } }),
      });
      return;
    }
    try {
      const response = fromBinary(ResponseSchema, item.frame.payload);
      const error = errorFromStatus(response.status, details);
      call.settle(error === undefined ? { payload: response.payload } : { error });
    } catch (err) {
      call.settle({ error: internal('cannot decode ttrpc response', { cause: err, details }) });
    }
  }

  #onClose(): void {
    if (this.#phase.is('closed')) return;
    this.#phase.transition('closed');
    const cause = this.#lastError;
    for (const call of [...this.#pending.values()]) {
      const details = { service: call.service, method: call.method };
      call.settle({ error: unavailable('ttrpc connection closed', { cause, details }) });
    }
  }
}
