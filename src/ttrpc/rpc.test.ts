/** Client <-> server over a real unix socket in a temp dir. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import { ErrorCode, ZeropodError, codeOf, notFound } from '../base/index.ts';
import { Events } from '../gen/github.com/containerd/containerd/api/services/ttrpc/events/v1/events_pb.js';
import {
  StateRequestSchema,
  StateResponseSchema,
  Task,
} from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import { TtrpcClient } from './client.ts';
import { TtrpcServer } from './server.ts';
import { unary, type CallContext, type MethodHandler } from './service.ts';
import { bytes, tempSocketPath, text } from './testing.ts';

const rejectsWith = (promise: Promise<unknown>, code: ErrorCode, message?: RegExp) =>
  assert.rejects(promise, (err) => {
    assert.ok(err instanceof ZeropodError, `not a ZeropodError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });

/** A started server with `methods` under service "test.Echo", and a client connected to it. */
async function setup(methods: Record<string, MethodHandler> = {}) {
  const dir = await tempSocketPath();
  const server = new TtrpcServer().register('test.Echo', {
    Echo: async (req) => req,
    ...methods,
  });
  await server.serve(dir.path);
  const client = await TtrpcClient.connect(dir.path);
  return {
    path: dir.path,
    server,
    client,
    [Symbol.asyncDispose]: async () => {
      await client.close();
      await server.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** A promise with its resolve handle, for handlers the test releases by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

void describe('ttrpc client <-> server', () => {
  void test('echoes bytes through a raw handler', async () => {
    await using f = await setup();
    assert.equal(text(await f.client.call('test.Echo', 'Echo', bytes('hello'))), 'hello');
  });

  void test('typed service: Events.Forward as a containerd shim publishes it, with metadata', async () => {
    await using dir = await tempSocketPath();
    await using server = new TtrpcServer();
    const seen: {
      topic?: string | undefined;
      namespace?: string | undefined;
      metadata?: CallContext['metadata'];
    } = {};
    server.registerService(Events, {
      forward: async (req, ctx) => {
        seen.topic = req.envelope?.topic;
        seen.namespace = req.envelope?.namespace;
        seen.metadata = ctx.metadata;
        return {};
      },
    });
    await server.serve(dir.path);
    await using client = await TtrpcClient.connect(dir.path);
    const metadata = new Map([
      ['Containerd-Namespace-TTRPC', ['k8s.io']],
      ['x', ['1', '2']],
    ]);
    await client.unary(
      Events.method.forward,
      { envelope: { topic: '/tasks/exit', namespace: 'k8s.io' } },
      { metadata },
    );
    assert.equal(Events.typeName, 'containerd.services.events.ttrpc.v1.Events');
    assert.deepEqual(seen, {
      topic: '/tasks/exit',
      namespace: 'k8s.io',
      metadata: new Map([
        ['containerd-namespace-ttrpc', ['k8s.io']],
        ['x', ['1', '2']],
      ]),
    });
  });

  void test('schema-pair helper and unimplemented methods of a partly implemented service', async () => {
    await using dir = await tempSocketPath();
    await using server = new TtrpcServer().register('containerd.task.v2.Task', {
      State: unary(StateRequestSchema, StateResponseSchema, async (req) => ({ id: req.id, pid: 42 })),
    });
    await server.serve(dir.path);
    await using client = await TtrpcClient.connect(dir.path);
    const state = await client.unary(Task.method.state, { id: 'abc' });
    assert.equal(state.id, 'abc');
    assert.equal(state.pid, 42);
    await rejectsWith(
      client.unary(Task.method.start, { id: 'abc' }),
      ErrorCode.Unimplemented,
      /method containerd\.task\.v2\.Task\/Start/,
    );
    await rejectsWith(
      client.call('no.Such', 'Thing', new Uint8Array()),
      ErrorCode.Unimplemented,
      /service no\.Such/,
    );
  });

  void test('registerService binds only the methods given', async () => {
    await using dir = await tempSocketPath();
    await using server = new TtrpcServer().registerService(Task, { state: async (req) => ({ id: req.id }) });
    await server.serve(dir.path);
    await using client = await TtrpcClient.connect(dir.path);
    assert.equal((await client.unary(Task.method.state, { id: 'q' })).id, 'q');
    await rejectsWith(client.unary(Task.method.create, { id: 'q' }), ErrorCode.Unimplemented);
  });

  void test('handler errors arrive with their code and cause chain', async () => {
    await using f = await setup({
      Missing: async () => {
        throw notFound('container abc', { cause: new Error('no such file') });
      },
      Broken: () => {
        throw new TypeError('synchronous bug');
      },
    });
    await rejectsWith(
      f.client.call('test.Echo', 'Missing', new Uint8Array()),
      ErrorCode.NotFound,
      /^container abc: no such file$/,
    );
    await rejectsWith(
      f.client.call('test.Echo', 'Broken', new Uint8Array()),
      ErrorCode.Internal,
      /synchronous bug/,
    );
    // The connection is still fine afterwards.
    assert.equal(text(await f.client.call('test.Echo', 'Echo', bytes('ok'))), 'ok');
  });

  void test('requests run concurrently and responses return out of order', async () => {
    const slow = gate();
    await using f = await setup({ Slow: async (req) => (await slow.opened, req) });
    const order: string[] = [];
    const first = f.client.call('test.Echo', 'Slow', bytes('slow')).then((b) => order.push(text(b)));
    const second = f.client.call('test.Echo', 'Echo', bytes('fast')).then((b) => order.push(text(b)));
    await second;
    slow.open();
    await first;
    assert.deepEqual(order, ['fast', 'slow']);
  });

  void test('timeoutMs travels as timeout_nano and aborts the handler with DeadlineExceeded', async () => {
    let reason: unknown;
    await using f = await setup({
      Wait: async (_req, ctx) => {
        await once(ctx.signal, 'abort');
        reason = ctx.signal.reason;
        throw ctx.signal.reason;
      },
    });
    await rejectsWith(
      f.client.call('test.Echo', 'Wait', new Uint8Array(), { timeoutMs: 30 }),
      ErrorCode.DeadlineExceeded,
    );
    while (reason === undefined) await new Promise((r) => setTimeout(r, 5));
    assert.equal(codeOf(reason), ErrorCode.DeadlineExceeded);
  });

  void test('a canceled call rejects at once; its late answer is dropped and the client stays usable', async () => {
    const slow = gate();
    await using f = await setup({ Slow: async (req) => (await slow.opened, req) });
    const controller = new AbortController();
    const call = f.client.call('test.Echo', 'Slow', bytes('late'), { signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await rejectsWith(call, ErrorCode.Canceled);
    slow.open();
    assert.equal(text(await f.client.call('test.Echo', 'Echo', bytes('next'))), 'next');
    await rejectsWith(
      f.client.call('test.Echo', 'Echo', bytes('x'), { signal: controller.signal }),
      ErrorCode.Canceled,
    );
  });

  void test('forced close fails pending calls with Unavailable and aborts their handlers', async () => {
    let aborted: unknown;
    const started = gate();
    await using f = await setup({
      Hang: async (_req, ctx) => {
        started.open();
        await once(ctx.signal, 'abort');
        aborted = ctx.signal.reason;
        return new Uint8Array();
      },
    });
    const failed = rejectsWith(
      f.client.call('test.Echo', 'Hang', new Uint8Array()),
      ErrorCode.Unavailable,
      /connection closed/,
    );
    await started.opened;
    await f.server.close();
    await failed;
    assert.equal(codeOf(aborted), ErrorCode.Canceled);
    assert.equal(f.client.phase, 'closed');
    await rejectsWith(f.client.call('test.Echo', 'Echo', new Uint8Array()), ErrorCode.Unavailable);
  });

  void test('graceful shutdown finishes requests in flight, then refuses connections', async () => {
    const slow = gate();
    const started = gate();
    await using f = await setup({ Slow: async (req) => (started.open(), await slow.opened, req) });
    const call = f.client.call('test.Echo', 'Slow', bytes('finished'));
    await started.opened;
    const shutdown = f.server.shutdown({ timeoutMs: 5_000 });
    assert.equal(f.server.phase, 'draining');
    await rejectsWith(TtrpcClient.connect(f.path), ErrorCode.Unavailable);
    slow.open();
    assert.equal(text(await call), 'finished');
    await shutdown;
    assert.equal(f.server.phase, 'closed');
    await f.client.closed;
  });

  void test('graceful shutdown is bounded: stuck handlers are aborted after the timeout', async () => {
    let aborted = false;
    const started = gate();
    await using f = await setup({
      Stuck: async (_req, ctx) => {
        started.open();
        await once(ctx.signal, 'abort');
        aborted = true;
        return new Uint8Array();
      },
    });
    const failed = rejectsWith(f.client.call('test.Echo', 'Stuck', new Uint8Array()), ErrorCode.Unavailable);
    await started.opened;
    const t0 = performance.now();
    await f.server.shutdown({ timeoutMs: 50 });
    assert.ok(performance.now() - t0 < 2_000);
    await failed;
    assert.ok(aborted);
    assert.equal(f.server.connectionCount, 0);
  });

  void test('client close fails pending calls with Unavailable', async () => {
    await using f = await setup({
      Hang: (_req, ctx) => once(ctx.signal, 'abort').then(() => new Uint8Array()),
    });
    const failed = rejectsWith(f.client.call('test.Echo', 'Hang', new Uint8Array()), ErrorCode.Unavailable);
    await f.client.close();
    await failed;
  });

  void test('connecting to a missing socket is Unavailable; an aborted connect is Canceled', async () => {
    await using dir = await tempSocketPath();
    await rejectsWith(TtrpcClient.connect(dir.path), ErrorCode.Unavailable);
    await rejectsWith(TtrpcClient.connect(dir.path, { signal: AbortSignal.abort() }), ErrorCode.Canceled);
  });

  void test('serves on a net.Server the caller created, and owns it afterwards', async () => {
    await using dir = await tempSocketPath();
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(dir.path, resolve));
    await using server = new TtrpcServer().register('test.Echo', { Echo: async (req) => req });
    await server.serve(listener);
    await using client = await TtrpcClient.connect(dir.path);
    assert.equal(text(await client.call('test.Echo', 'Echo', bytes('mine'))), 'mine');
    await server.close();
    assert.equal(listener.listening, false);
  });

  void test('lifecycle misuse is refused', async () => {
    await using f = await setup();
    await rejectsWith(f.server.serve(f.path), ErrorCode.FailedPrecondition);
    assert.throws(
      () => f.server.register('test.Echo', {}),
      (err) => codeOf(err) === ErrorCode.AlreadyExists,
    );
    await using dir = await tempSocketPath();
    const busy = new TtrpcServer();
    await rejectsWith(busy.serve(f.path), ErrorCode.FailedPrecondition, /cannot listen/);
    await busy.close();
    assert.equal(busy.phase, 'closed');
    await rejectsWith(busy.serve(dir.path), ErrorCode.FailedPrecondition);
  });
});
