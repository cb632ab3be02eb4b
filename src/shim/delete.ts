/**
 * `containerd-shim-zeropod-v2 delete`: containerd lost the daemon (killed, crashed) and asks us to
 * clean up the bundle: force-delete the container in runc, unmount its rootfs, and answer with a
 * DeleteResponse on stdout (exit 128+SIGKILL, as containerd's runc shim reports).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import path from 'node:path';
import { silentLogger } from '../base/index.ts';
import { Runc } from '../runc/index.ts';
import { DeleteResponseSchema } from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import type { ShimFlags } from './flags.ts';
import { unmountAll } from './mount.ts';
import { runcRoot } from './paths.ts';

export async function deleteBundle(flags: ShimFlags): Promise<Uint8Array> {
  const runc = new Runc({ root: runcRoot(flags.namespace), logger: silentLogger });
  try {
    await runc.delete(flags.id, { force: true });
  } catch (err) {
    process.stderr.write(`runc delete ${flags.id}: ${(err as Error).message}\n`);
  }
  await unmountAll(path.join(flags.bundle, 'rootfs'));
  return toBinary(DeleteResponseSchema, create(DeleteResponseSchema, { exitStatus: 137, exitedAt: timestampNow() }));
}
