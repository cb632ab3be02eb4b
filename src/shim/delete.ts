/**
 * `containerd-shim-zeropod-v2 delete`: containerd lost the daemon (killed, crashed) and asks us to
 * clean up one task's bundle, as containerd's runc shim does: force-delete the container in runc
 * (which SIGKILLs what still runs of it and removes its state and cgroups), unmount its rootfs, and
 * answer with a DeleteResponse on stdout: the init's pid, exit status 128+SIGKILL, now. A socket
 * the dead daemon left behind (nobody answers on it any more) is removed too, and the extensions
 * remove what they kept for this task (never another task's).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { readFileSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describeError, silentLogger } from '../base/index.ts';
import { Runc } from '../runc/index.ts';
import { DeleteResponseSchema } from '../gen/github.com/containerd/containerd/api/runtime/task/v2/shim_pb.js';
import type { ShimFlags } from './flags.ts';
import { unmountAll } from './mount.ts';
import { runcRoot, SHIM_RUN_DIR, statusSocketPath } from './paths.ts';

const SIGKILL = 9;

/** Extensions' cleanup of one task (scale to zero: its image, work mounts, restore helpers). */
export type DeleteCleanup = (flags: ShimFlags) => Promise<void>;

export async function deleteBundle(
  flags: ShimFlags,
  cleanups: readonly DeleteCleanup[] = [],
): Promise<Uint8Array> {
  const runc = new Runc({ root: runcRoot(flags.namespace), logger: silentLogger });
  try {
    await runc.delete(flags.id, { force: true });
  } catch (err) {
    if ((err as { code?: string }).code !== 'NotFound')
      process.stderr.write(`runc delete ${flags.id}: ${(err as Error).message}\n`);
  }
  await unmountAll(path.join(flags.bundle, 'rootfs'));
  // The task is gone for good: no later worker may re-adopt it (docs/restart-safety.md).
  rmSync(path.join(SHIM_RUN_DIR, 'records', flags.namespace, `${path.basename(flags.id)}.json`), {
    force: true,
  });
  // After runc's forced delete: the app is gone, so nothing of it needs what the cleanups remove.
  for (const cleanup of cleanups) {
    await cleanup(flags).catch((err: unknown) =>
      process.stderr.write(`cleanup of ${flags.id}: ${describeError(err)}\n`),
    );
  }
  for (const sock of [shimSocketOf(flags.bundle), statusSocketPath(flags.namespace, flags.id)]) {
    if (sock && sock.startsWith(`${SHIM_RUN_DIR}/`)) await removeIfDead(sock);
  }
  return toBinary(
    DeleteResponseSchema,
    create(DeleteResponseSchema, {
      pid: readPid(path.join(flags.bundle, 'init.pid')),
      exitStatus: 128 + SIGKILL,
      exitedAt: timestampNow(),
    }),
  );
}

function readPid(file: string): number {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0; // never created
  }
}

/** The daemon's address containerd recorded in the bundle (bootstrap.json, or the older `address`). */
function shimSocketOf(bundle: string): string | undefined {
  try {
    const b = JSON.parse(readFileSync(path.join(bundle, 'bootstrap.json'), 'utf8')) as { address?: string };
    if (b.address) return b.address.replace(/^unix:\/\//, '');
  } catch {
    // fall through to the older file
  }
  try {
    return readFileSync(path.join(bundle, 'address'), 'utf8')
      .trim()
      .replace(/^unix:\/\//, '');
  } catch {
    return undefined;
  }
}

async function removeIfDead(sock: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect({ path: sock });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) return; // another task of the group still has a live daemon (or a new one took over)
  try {
    unlinkSync(sock);
  } catch {
    // gone already
  }
}
