/** The client against a fake server that speaks raw frames. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { TtrpcClient } from './client.ts';
import { MessageType } from './frame.ts';
import { GrpcCode } from './status.ts';
import { bytes, rawServer, tempSocketPath, text } from './testing.ts';

async function setup(maxMessageSize?: number) {
  const dir = await tempSocketPath();
  const fake = await rawServer(dir.path);
  const client = await TtrpcClient.connect(dir.path, maxMessageSize === undefined ? {} : { maxMessageSize });
  const peer = await fake.accept();
  return {
    client,
    peer,
    [Symbol.asyncDispose]: async () => {
      await client.close();
      await fake[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const failsWith = (code: ErrorCode, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ZeropodError, String(err));
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

void describe('ttrpc client on the wire', () => {
  void test('sends requests on odd, increasing stream ids with all request fields', async () => {
    await using f = await setup();
    const calls = [
      f.client.call('svc.A', 'One', bytes('1'), { timeoutMs: 1500, metadata: new Map([['K', ['v']]]) }),
      f.client.call('svc.A', 'Two', bytes('2')),
      f.client.call('svc.B', 'Three', bytes('3')),
    ];
    const seen = [await f.peer.nextRequest(), await f.peer.nextRequest(), await f.peer.nextRequest()];
    assert.deepEqual(
      seen.map((s) => [s.streamId, s.request.service, s.request.method, text(s.request.payload)]),
      [
        [1, 'svc.A', 'One', '1'],
        [3, 'svc.A', 'Two', '2'],
        [5, 'svc.B', 'Three', '3'],
      ],
    );
    assert.equal(seen[0]?.request.timeoutNano, 1_500_000_000n);
    assert.equal(seen[1]?.request.timeoutNano, 0n);
    assert.deepEqual(
      seen[0]?.request.metadata.map((kv) => [kv.key, kv.value]),
      [['k', 'v']],
    );
    // Answer out of order: each call still gets its own response.
    for (const id of [5, 1, 3]) f.peer.sendResponse(id, GrpcCode.OK, '', bytes(`r${id}`));
    assert.deepEqual((await Promise.all(calls)).map(text), ['r1', 'r3', 'r5']);
  });

  void test('decodes a failed status into the error containerd meant', async () => {
    await using f = await setup();
    const call = f.client.call('svc', 'M', new Uint8Array());
    const { streamId } = await f.peer.nextRequest();
    f.peer.sendResponse(streamId, GrpcCode.NOT_FOUND, 'task abc: not found');
    await assert.rejects(call, failsWith(ErrorCode.NotFound, /^task abc: not found$/));
  });

  void test('drops answers for streams nobody waits on', async () => {
    await using f = await setup();
    f.peer.sendResponse(99, GrpcCode.OK);
    const call = f.client.call('svc', 'M', new Uint8Array());
    const { streamId } = await f.peer.nextRequest();
    f.peer.sendResponse(streamId, GrpcCode.OK, '', bytes('mine'));
    assert.equal(text(await call), 'mine');
  });

  void test('fails only the call whose response is over the limit', async () => {
    await using f = await setup(64);
    const big = f.client.call('svc', 'Big', new Uint8Array());
    const small = f.client.call('svc', 'Small', new Uint8Array());
    const first = await f.peer.nextRequest();
    const second = await f.peer.nextRequest();
    f.peer.sendResponse(first.streamId, GrpcCode.OK, '', new Uint8Array(100));
    f.peer.sendResponse(second.streamId, GrpcCode.OK, '', bytes('ok'));
    await assert.rejects(big, failsWith(ErrorCode.Internal, /maximum message size/));
    assert.equal(text(await small), 'ok');
  });

  void test('refuses to send a request over the limit', async () => {
    await using f = await setup(64);
    await assert.rejects(
      f.client.call('svc', 'M', new Uint8Array(100)),
      failsWith(ErrorCode.InvalidArgument),
    );
    // Nothing went out: the next request still uses stream 1.
    void f.client.call('svc', 'M', new Uint8Array()).catch(() => undefined);
    assert.equal((await f.peer.nextRequest()).streamId, 1);
  });

  void test('treats a data frame on a unary call as a protocol error', async () => {
    await using f = await setup();
    const call = f.client.call('svc', 'M', new Uint8Array());
    const { streamId } = await f.peer.nextRequest();
    f.peer.send({ streamId, type: MessageType.Data, flags: 0, payload: bytes('?') });
    await assert.rejects(call, failsWith(ErrorCode.Internal, /protocol error/));
  });

  void test('a local timeout fails the call with DeadlineExceeded', async () => {
    await using f = await setup();
    await assert.rejects(
      f.client.call('svc', 'M', new Uint8Array(), { timeoutMs: 20 }),
      failsWith(ErrorCode.DeadlineExceeded),
    );
  });

  void test('refuses timeouts that are not positive and finite', async () => {
    await using f = await setup();
    for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(
        f.client.call('svc', 'M', new Uint8Array(), { timeoutMs }),
        failsWith(ErrorCode.InvalidArgument),
      );
    }
  });

  void test('fails every pending call with Unavailable when the server hangs up', async () => {
    await using f = await setup();
    const calls = [f.client.call('svc', 'A', new Uint8Array()), f.client.call('svc', 'B', new Uint8Array())];
    const failed = calls.map((c) => assert.rejects(c, failsWith(ErrorCode.Unavailable, /connection closed/)));
    await f.peer.nextRequest();
    await f.peer.nextRequest();
    f.peer.socket.destroy();
    await Promise.all(failed);
    await f.client.closed;
    assert.equal(f.client.phase, 'closed');
  });
});
