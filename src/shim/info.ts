/**
 * `containerd-shim-zeropod-v2 -info`: containerd's introspection (`ctr plugins inspect-runtime`,
 * and a create with idmapped mounts) runs the shim with the runtime options on stdin (a marshaled
 * google.protobuf.Any, possibly empty) and reads a containerd.types.RuntimeInfo from stdout: our
 * name and version, the options echoed, and runc's own feature list (`runc features`, JSON) as the
 * OCI features, the same answer containerd's runc shim gives.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { invalidArgument } from '../base/index.ts';
import { RuntimeInfoSchema } from '../gen/github.com/containerd/containerd/api/types/introspection_pb.js';

const run = promisify(execFile);

export const RUNTIME_NAME = 'io.containerd.zeropod.v2';
/** containerd's type URL for runtime-spec's features.Features (core/runtime/typeurl.go). */
export const FEATURES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/features/Features';

export interface InfoOptions {
  version: string;
  revision?: string;
  /** What containerd wrote to stdin. */
  options: Uint8Array;
  /** runc's `features` output; by default runs `runc features`. */
  features?: () => Promise<string>;
}

export async function runtimeInfo(o: InfoOptions): Promise<Uint8Array> {
  let options: Any | undefined;
  if (o.options.length > 0) {
    try {
      options = fromBinary(AnySchema, o.options);
    } catch (err) {
      throw invalidArgument('-info: stdin is not a marshaled google.protobuf.Any', { cause: err });
    }
  }
  let features: Any | undefined;
  try {
    const json = await (o.features ?? runcFeatures)();
    JSON.parse(json); // only pass on what containerd can decode
    features = create(AnySchema, { typeUrl: FEATURES_TYPE_URL, value: new TextEncoder().encode(json) });
  } catch {
    features = undefined; // as containerd's shim: a runtime without `features` still answers
  }
  return toBinary(
    RuntimeInfoSchema,
    create(RuntimeInfoSchema, {
      name: RUNTIME_NAME,
      version: { version: o.version, revision: o.revision ?? '' },
      ...(options ? { options } : {}),
      ...(features ? { features } : {}),
    }),
  );
}

async function runcFeatures(): Promise<string> {
  return (await run('runc', ['features'], { timeout: 10_000 })).stdout;
}

/** All of stdin (containerd closes it after the options); empty when stdin is a terminal. */
export async function readStdin(limit = 1 << 20): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw invalidArgument(`-info: more than ${limit} bytes on stdin`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
