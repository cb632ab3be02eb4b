/**
 * A typed gRPC client for any protobuf-es service descriptor, on @grpc/grpc-js. Unary methods only;
 * each becomes `client.method(init, { signal, timeoutMs })` returning the decoded response.
 */
import * as grpc from '@grpc/grpc-js';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { ZeropodError, ErrorCode, canceled } from '../../src/base/index.ts';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

type UnaryMethods<T extends GenServiceMethods> = {
  [K in keyof T as T[K]['methodKind'] extends 'unary' ? K : never]: (
    req: MessageInitShape<T[K]['input']>,
    options?: CallOptions,
  ) => Promise<MessageShape<T[K]['output']>>;
};

export type GrpcClient<T extends GenServiceMethods> = UnaryMethods<T> & { close(): void };

/** gRPC status -> our closed set of codes (for the harness; the shim has its own mapping). */
const grpcToCode: Record<number, ErrorCode> = {
  1: ErrorCode.Canceled,
  3: ErrorCode.InvalidArgument,
  4: ErrorCode.DeadlineExceeded,
  5: ErrorCode.NotFound,
  6: ErrorCode.AlreadyExists,
  9: ErrorCode.FailedPrecondition,
  12: ErrorCode.Unimplemented,
  14: ErrorCode.Unavailable,
};

export function createGrpcClient<T extends GenServiceMethods>(
  service: GenService<T>,
  address: string,
  defaults: { timeoutMs?: number } = {},
): GrpcClient<T> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    if (method.methodKind !== 'unary') continue;
    const pathName = `/${service.typeName}/${method.name}`;
    const input = method.input as DescMessage;
    const output = method.output as DescMessage;
    out[method.localName] = (init: MessageInitShape<DescMessage>, options: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        if (options.signal?.aborted) return reject(canceled(`${method.name} aborted before it was sent`));
        const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
        const call = client.makeUnaryRequest(
          pathName,
          (msg: MessageShape<DescMessage>) => Buffer.from(toBinary(input, msg)),
          (buf: Buffer) => fromBinary(output, buf),
          create(input, init),
          new grpc.Metadata(),
          timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
          (err, value) => {
            options.signal?.removeEventListener('abort', onAbort);
            if (err) {
              const code = grpcToCode[err.code] ?? ErrorCode.Internal;
              reject(new ZeropodError(code, `${method.name}: ${err.details || err.message}`, { cause: err }));
            } else resolve(value);
          },
        );
        const onAbort = () => call.cancel();
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
  }
  return out as GrpcClient<T>;
}
