/**
 * One containerd connection as the keeper relays it to the worker (docs/restart-safety.md). Whole
 * ttrpc frames only: a worker that dies mid-frame never leaves containerd with half a reply, and a
 * new worker never gets half a request.
 *
 *   containerd --frames--> [decode, note requests in flight] --> worker (or held while none)
 *   containerd <--frames-- [forget answered requests] <-------- worker
 *
 * When the worker is lost, each request in flight is either kept to be sent again to the next worker
 * (methods that only read or wait: Wait, State, Pids, Stats, Connect; containerd's CRI turns a failed
 * Wait into the container's exit with status 255, so Wait must survive) or answered Unavailable (the
 * rest: their effect may or may not have happened). Requests that arrive with no worker wait for the
 * next one, for at most `holdMs`, then are answered Unavailable. Pure: sockets are callbacks.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema } from '../../gen/github.com/containerd/ttrpc/request_pb.js';
import {
  FrameDecoder,
  GrpcCode,
  MessageType,
  encodeFrame,
  newStatus,
  type Frame,
} from '../../ttrpc/index.ts';

/** Task API methods that are safe to send twice: they read, or wait for an exit. */
export const REPLAYABLE_METHODS: ReadonlySet<string> = new Set(['Wait', 'State', 'Pids', 'Stats', 'Connect']);

interface InFlight {
  frame: Buffer;
  method: string;
  replayable: boolean;
  /** When the request arrived (performance.now()), to bound how long it is held without a worker. */
  arrived: number;
}

export interface RelayOptions {
  /** Bytes to containerd. */
  toContainerd(bytes: Buffer): void;
  /** Requests held with no worker are answered Unavailable after this long. */
  holdMs: number;
  now?: () => number;
}

export class RelayConnection {
  readonly #o: RelayOptions;
  readonly #fromContainerd = new FrameDecoder();
  #fromWorker = new FrameDecoder();
  /** Requests sent to the current worker and not yet answered, by stream id. */
  readonly #inFlight = new Map<number, InFlight>();
  /** Requests waiting for a worker, in arrival order. */
  readonly #held = new Map<number, InFlight>();
  #worker: ((bytes: Buffer) => void) | undefined;
  /** The worker is stopping: its answers still come, new requests wait for the next worker. */
  #paused = false;
  /** Counters for the keeper's log and tests. */
  readonly stats = { relayed: 0, replayed: 0, unavailable: 0 };

  constructor(o: RelayOptions) {
    this.#o = o;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get held(): number {
    return this.#held.size;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : performance.now();
  }

  /** Bytes from containerd, in any chunking. */
  fromContainerd(chunk: Uint8Array): void {
    for (const d of this.#fromContainerd.push(chunk)) {
      if (d.kind !== 'frame') {
        // Too big for the worker to take either: answer here, as the worker's server would.
        this.#answer(d.header.streamId, GrpcCode.RESOURCE_EXHAUSTED, 'message larger than the maximum size');
        continue;
      }
      this.#request(d.frame);
    }
  }

  #request(frame: Frame): void {
    const bytes = encodeFrame(frame);
    if (frame.type !== MessageType.Request) {
      // Data frames of a stream: the Task API has none; pass them along if a worker is there.
      this.#worker?.(bytes);
      return;
    }
    let method = '';
    try {
      method = fromBinary(RequestSchema, frame.payload).method;
    } catch {
      // Undecodable: the worker's server answers it (INVALID_ARGUMENT); never replayed.
    }
    const entry = { frame: bytes, method, replayable: REPLAYABLE_METHODS.has(method), arrived: this.#now() };
    if (this.#worker && !this.#paused) {
      this.#inFlight.set(frame.streamId, entry);
      this.stats.relayed++;
      this.#worker(bytes);
    } else {
      this.#held.set(frame.streamId, entry);
    }
  }

  /** Bytes from the worker: whole frames go to containerd, answered requests are forgotten. */
  fromWorker(chunk: Uint8Array): void {
    for (const d of this.#fromWorker.push(chunk)) {
      if (d.kind !== 'frame') continue; // the worker never sends one; nothing to forward
      if (d.frame.type === MessageType.Response) this.#inFlight.delete(d.frame.streamId);
      this.#o.toContainerd(encodeFrame(d.frame));
    }
  }

  /** A worker serves this connection now: held requests go first, in their order. */
  attach(toWorker: (bytes: Buffer) => void): void {
    this.#worker = toWorker;
    this.#paused = false;
    this.#fromWorker = new FrameDecoder();
    // In stream id order: a ttrpc server refuses an id lower than one it has seen on the connection,
    // and a replayed request may be older than one that arrived while the worker was leaving.
    for (const [id, entry] of [...this.#held].sort(([a], [b]) => a - b)) {
      this.#held.delete(id);
      this.#inFlight.set(id, entry);
      toWorker(entry.frame);
    }
  }

  /** The worker is stopping: new requests are held for the next one; in-flight ones still get answers. */
  pause(): void {
    this.#paused = true;
  }

  /** The worker went away: keep what may be sent again, answer the rest Unavailable. */
  lost(): void {
    this.#worker = undefined;
    this.#paused = false;
    this.#fromWorker = new FrameDecoder(); // a half frame of the dead worker is dropped
    for (const [id, entry] of this.#inFlight) {
      this.#inFlight.delete(id);
      if (entry.replayable) {
        this.stats.replayed++;
        this.#held.set(id, { ...entry, arrived: this.#now() });
      } else {
        this.#answer(id, GrpcCode.UNAVAILABLE, `the shim restarted while ${entry.method || 'the call'} ran`);
      }
    }
  }

  /** Answers Unavailable to held requests older than holdMs (call it on a timer). */
  expire(): void {
    const now = this.#now();
    for (const [id, entry] of this.#held) {
      if (now - entry.arrived < this.#o.holdMs) continue;
      this.#held.delete(id);
      this.#answer(id, GrpcCode.UNAVAILABLE, `no shim worker for ${this.#o.holdMs} ms`);
    }
  }

  #answer(streamId: number, code: number, message: string): void {
    this.stats.unavailable += code === GrpcCode.UNAVAILABLE ? 1 : 0;
    const payload = toBinary(ResponseSchema, create(ResponseSchema, { status: newStatus(code, message) }));
    this.#o.toContainerd(encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload }));
  }
}
