/**
 * Test helpers: temp socket paths and a raw frame-level peer for poking either side of the wire.
 * Used by this folder's tests only; not exported from index.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  RequestSchema,
  ResponseSchema,
  type Request,
  type Response,
} from '../gen/github.com/containerd/ttrpc/request_pb.js';
import { FrameDecoder, type Decoded } from './codec.ts';
import { MessageType, encodeFrame, type Frame } from './frame.ts';
import { newStatus } from './status.ts';

export async function tempSocketPath(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), 'ttrpc-test-'));
  return {
    path: join(dir, 's.sock'),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A socket speaking raw frames: send anything, read back decoded items in order. */
export class RawPeer implements AsyncDisposable {
  readonly socket: net.Socket;
  readonly #decoder = new FrameDecoder({ maxMessageSize: 64 << 20 });
  readonly #items: Decoded[] = [];
  readonly #waiters: ((item: Decoded) => void)[] = [];
  readonly closed: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.#decoder.push(chunk)) {
        const waiter = this.#waiters.shift();
        if (waiter) waiter(item);
        else this.#items.push(item);
      }
    });
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  send(frame: Frame): void {
    this.socket.write(encodeFrame(frame, 64 << 20));
  }

  sendRequest(
    streamId: number,
    init: Partial<Pick<Request, 'service' | 'method' | 'payload'>>,
    flags = 0,
  ): void {
    const payload = toBinary(RequestSchema, create(RequestSchema, init));
    this.send({ streamId, type: MessageType.Request, flags, payload });
  }

  sendResponse(streamId: number, code: number, message = '', payload: Uint8Array = new Uint8Array(0)): void {
    const bytes = toBinary(
      ResponseSchema,
      create(ResponseSchema, { status: newStatus(code, message), payload }),
    );
    this.send({ streamId, type: MessageType.Response, flags: 0, payload: bytes });
  }

  async nextFrame(): Promise<Frame> {
    const item =
      this.#items.shift() ?? (await new Promise<Decoded>((resolve) => this.#waiters.push(resolve)));
    if (item.kind !== 'frame') throw new Error('unexpected oversize frame');
    return item.frame;
  }

  async nextResponse(): Promise<{ streamId: number; response: Response }> {
    const frame = await this.nextFrame();
    if (frame.type !== MessageType.Response) throw new Error(`unexpected frame type ${frame.type}`);
    return { streamId: frame.streamId, response: fromBinary(ResponseSchema, frame.payload) };
  }

  async nextRequest(): Promise<{ streamId: number; request: Request }> {
    const frame = await this.nextFrame();
    if (frame.type !== MessageType.Request) throw new Error(`unexpected frame type ${frame.type}`);
    return { streamId: frame.streamId, request: fromBinary(RequestSchema, frame.payload) };
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/** A listening socket whose connections are handed out as RawPeers (a fake ttrpc server). */
export async function rawServer(path: string): Promise<{ accept(): Promise<RawPeer> } & AsyncDisposable> {
  const server = net.createServer();
  const all: RawPeer[] = [];
  const queued: RawPeer[] = [];
  const waiting: ((peer: RawPeer) => void)[] = [];
  server.on('connection', (socket) => {
    const peer = new RawPeer(socket);
    all.push(peer);
    const waiter = waiting.shift();
    if (waiter) waiter(peer);
    else queued.push(peer);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    accept: () => {
      const peer = queued.shift();
      return peer ? Promise.resolve(peer) : new Promise((resolve) => waiting.push(resolve));
    },
    [Symbol.asyncDispose]: async () => {
      for (const p of all) p.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
