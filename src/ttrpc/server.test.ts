/** The server as a raw peer sees it: frame-level misbehaviour, limits and draining. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { RequestSchema } from '../gen/github.com/containerd/ttrpc/request_pb.js';
import { Flag, MessageType, encodeFrame } from './frame.ts';
import { TtrpcServer } from './server.ts';
import type { MethodHandler } from './service.ts';
import { GrpcCode, statusMessage } from './status.ts';
import { RawPeer, bytes, tempSocketPath, text } from './testing.ts';

async function setup(methods: Record<string, MethodHandler> = {}, maxMessageSize?: number) {
  const dir = await tempSocketPath();
  const server = new TtrpcServer(maxMessageSize === undefined ? {} : { maxMessageSize });
  server.register('test.Echo', { Echo: async (req) => req, ...methods });
  await server.serve(dir.path);
  const peer = await RawPeer.connect(dir.path);
  return {
    server,
    peer,
    /** The next response's stream id, status code and message. */
    next: async () => {
      const { streamId, response } = await peer.nextResponse();
      const code = response.status?.code ?? 0;
      return {
        streamId,
        code,
        message: response.status ? statusMessage(response.status) : '',
        payload: text(response.payload),
      };
    },
    [Symbol.asyncDispose]: async () => {
      await peer[Symbol.asyncDispose]();
      await server.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const echo = (payload: string) => ({ service: 'test.Echo', method: 'Echo', payload: bytes(payload) });

void describe('ttrpc server on the wire', () => {
  void test('answers a unary request on its stream id with an OK status', async () => {
    await using f = await setup();
    f.peer.sendRequest(1, echo('hi'));
    assert.deepEqual(await f.next(), { streamId: 1, code: GrpcCode.OK, message: '', payload: 'hi' });
  });

  void test('rejects an oversize request with RESOURCE_EXHAUSTED and keeps the connection', async () => {
    await using f = await setup({}, 64);
    f.peer.sendRequest(1, echo('x'.repeat(100)));
    const rejected = await f.next();
    assert.equal(rejected.streamId, 1);
    assert.equal(rejected.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.match(rejected.message, /exceeds maximum message size of 64/);
    f.peer.sendRequest(3, echo('small'));
    assert.deepEqual(await f.next(), { streamId: 3, code: GrpcCode.OK, message: '', payload: 'small' });
  });

  void test('turns a response over the limit into RESOURCE_EXHAUSTED', async () => {
    await using f = await setup({ Big: async () => new Uint8Array(200) }, 64);
    f.peer.sendRequest(1, { service: 'test.Echo', method: 'Big' });
    const answer = await f.next();
    assert.equal(answer.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.match(answer.message, /response length/);
  });

  void test('requires odd stream ids', async () => {
    await using f = await setup();
    f.peer.sendRequest(2, echo('even'));
    const answer = await f.next();
    assert.deepEqual([answer.streamId, answer.code], [2, GrpcCode.INVALID_ARGUMENT]);
  });

  void test('requires increasing stream ids', async () => {
    await using f = await setup();
    f.peer.sendRequest(5, echo('a'));
    assert.equal((await f.next()).code, GrpcCode.OK);
    f.peer.sendRequest(5, echo('again'));
    f.peer.sendRequest(3, echo('back'));
    assert.deepEqual(
      [await f.next(), await f.next()].map((a) => [a.streamId, a.code]),
      [
        [5, GrpcCode.INVALID_ARGUMENT],
        [3, GrpcCode.INVALID_ARGUMENT],
      ],
    );
  });

  void test('answers a request it cannot decode with INVALID_ARGUMENT', async () => {
    await using f = await setup();
    f.peer.send({
      streamId: 1,
      type: MessageType.Request,
      flags: 0,
      payload: Uint8Array.of(0xff, 0xff, 0xff),
    });
    const answer = await f.next();
    assert.equal(answer.code, GrpcCode.INVALID_ARGUMENT);
    assert.match(answer.message, /cannot decode request/);
  });

  void test('refuses streams politely with UNIMPLEMENTED', async () => {
    await using f = await setup();
    f.peer.sendRequest(1, echo('stream'), Flag.RemoteOpen);
    assert.deepEqual([(await f.next()).code], [GrpcCode.UNIMPLEMENTED]);
    // The client's data for that stream is dropped without another answer...
    f.peer.send({ streamId: 1, type: MessageType.Data, flags: Flag.RemoteClosed, payload: bytes('d') });
    // ...while data on a stream never opened is refused.
    f.peer.send({ streamId: 7, type: MessageType.Data, flags: 0, payload: bytes('d') });
    const answer = await f.next();
    assert.deepEqual([answer.streamId, answer.code], [7, GrpcCode.UNIMPLEMENTED]);
    f.peer.sendRequest(9, echo('still fine'));
    assert.deepEqual((await f.next()).payload, 'still fine');
  });

  void test('ignores frames of unknown type', async () => {
    await using f = await setup();
    f.peer.send({ streamId: 1, type: 0x42, flags: 0, payload: bytes('future') });
    f.peer.send({ streamId: 3, type: MessageType.Response, flags: 0, payload: new Uint8Array() });
    f.peer.sendRequest(5, echo('after'));
    assert.deepEqual([(await f.next()).streamId], [5]);
  });

  void test('decodes requests split across writes and several in one write', async () => {
    await using f = await setup();
    const wire = Buffer.concat(
      [1, 3, 5].map((id) =>
        encodeFrame({ streamId: id, type: MessageType.Request, flags: 0, payload: requestBytes(`p${id}`) }),
      ),
    );
    for (let i = 0; i < wire.length; i += 7) f.peer.socket.write(wire.subarray(i, i + 7));
    const answers = [await f.next(), await f.next(), await f.next()];
    assert.deepEqual(answers.map((a) => a.payload).sort(), ['p1', 'p3', 'p5']);
  });

  void test('while draining, refuses new requests and closes after the last answer', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await using f = await setup({ Slow: async (req) => (started(), await released, req) });
    f.peer.sendRequest(1, { service: 'test.Echo', method: 'Slow', payload: bytes('last') });
    await running;
    const shutdown = f.server.shutdown({ timeoutMs: 5_000 });
    f.peer.sendRequest(3, echo('too late'));
    const refused = await f.next();
    assert.deepEqual([refused.streamId, refused.code], [3, GrpcCode.UNAVAILABLE]);
    release();
    assert.deepEqual(await f.next(), { streamId: 1, code: GrpcCode.OK, message: '', payload: 'last' });
    await f.peer.closed;
    await shutdown;
  });
});

const requestBytes = (payload: string) => toBinary(RequestSchema, create(RequestSchema, echo(payload)));
