/**
 * What a server dispatches to: services by full name ("containerd.task.v2.Task"), each a table of
 * unary method handlers on raw bytes, plus typed helpers that bind protobuf-es schemas.
 */
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { alreadyExists, invalidArgument } from '../base/index.ts';
import { KeyValueSchema, type KeyValue } from '../gen/github.com/containerd/ttrpc/request_pb.js';

/** Request metadata (ttrpc's MD): lower-cased keys, each with one or more values. */
export type Metadata = ReadonlyMap<string, readonly string[]>;

export interface CallContext {
  /** Aborts when the request's timeout_nano elapses, the connection closes, or the server is forced down. */
  signal: AbortSignal;
  metadata: Metadata;
  service: string;
  method: string;
}

export type MethodHandler = (request: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

export type TypedHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>>;

/** A byte-level handler from a typed one: decodes with `input`, encodes with `output`. */
export function unary<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
  handler: TypedHandler<I, O>,
): MethodHandler {
  return async (bytes, ctx) => {
    let request: MessageShape<I>;
    try {
      request = fromBinary(input, bytes);
    } catch (err) {
      throw invalidArgument(`cannot decode ${input.typeName}`, { cause: err });
    }
    const response = await handler(request, ctx);
    return toBinary(output, create(output, response));
  };
}

type UnaryKeys<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]['methodKind'] extends 'unary' ? K : never;
}[keyof S];

/** Typed handlers for a generated service, keyed by the method's local name (`create`, `start`). */
export type ServiceImpl<S extends GenServiceMethods> = {
  [K in UnaryKeys<S>]?: TypedHandler<S[K]['input'], S[K]['output']>;
};

/** Byte-level handlers keyed by wire method name ("Create") for the unary methods `impl` has. */
export function bindService<S extends GenServiceMethods>(
  service: GenService<S>,
  impl: ServiceImpl<S>,
): Record<string, MethodHandler> {
  const handlers: Record<string, MethodHandler> = {};
  const byLocalName = impl as Record<string, TypedHandler<DescMessage, DescMessage> | undefined>;
  for (const method of service.methods) {
    const handler = byLocalName[method.localName];
    if (method.methodKind !== 'unary' || handler === undefined) continue;
    handlers[method.name] = unary(method.input, method.output, handler);
  }
  return handlers;
}

/** Registered services. Shared by all of a server's connections; holds no per-connection state. */
export class ServiceRegistry {
  readonly #services = new Map<string, ReadonlyMap<string, MethodHandler>>();

  register(service: string, methods: Record<string, MethodHandler>): void {
    if (this.#services.has(service))
      throw alreadyExists('ttrpc service already registered', { details: { service } });
    this.#services.set(service, new Map(Object.entries(methods)));
  }

  hasService(service: string): boolean {
    return this.#services.has(service);
  }

  lookup(service: string, method: string): MethodHandler | undefined {
    return this.#services.get(service)?.get(method);
  }
}

export function metadataFromWire(pairs: readonly KeyValue[]): Metadata {
  const md = new Map<string, string[]>();
  for (const { key, value } of pairs) {
    const k = key.toLowerCase();
    const values = md.get(k);
    if (values === undefined) md.set(k, [value]);
    else values.push(value);
  }
  return md;
}

export function metadataToWire(md: Metadata | undefined): KeyValue[] {
  const pairs: KeyValue[] = [];
  for (const [key, values] of md ?? []) {
    for (const value of values) pairs.push(create(KeyValueSchema, { key: key.toLowerCase(), value }));
  }
  return pairs;
}
