/**
 * What `containerd-shim-zeropod-v2 delete` removes for one task after its daemon died (containerd's
 * cleanup after a real task death): the restore helpers (the prepared restore's waiter, CRIU, the
 * lazy-pages daemon), the mounts in its work directory, the work directory, its checkpoint image,
 * its nft table in the pod's network namespace and its kubelet-counting table in the node's. Nothing of another task: everything is found
 * by this task's own paths and table name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError, invalidArgument, quoteValue } from '../../base/index.ts';
import { kubeletTableName, removeKubeletTable, removeTable, tableName } from '../../nft/index.ts';
import { LINUX, mountPointsUnder, processesNaming, umount2 } from '../../sys/index.ts';
import type { OciSpec } from '../container.ts';
import type { ShimFlags } from '../flags.ts';
import { imageRootOf, WORK_ROOT } from './dirs.ts';

export interface Leftovers {
  id: string;
  imagePath: string;
  workPath: string;
  /** The pod's network namespace (its nft table); absent when the spec names none. */
  netnsPath?: string;
}

/** Each step is tried; a failure is reported and the next step still runs. */
export async function removeLeftovers(l: Leftovers, warn: (message: string) => void): Promise<void> {
  const attempt = async (what: string, step: () => unknown) => {
    try {
      await step();
    } catch (err) {
      warn(`${what}: ${describeError(err)}`);
    }
  };
  // The helpers first: CRIU holds the images open and its root mounted.
  await attempt('kill restore helpers', () => {
    for (const pid of processesNaming(l.workPath)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  });
  await attempt('unmount work mounts', () => {
    for (const point of mountPointsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), l.workPath))
      umount2(point, LINUX.MNT_DETACH);
  });
  await attempt('remove work directory', () => rm(l.workPath, { recursive: true, force: true }));
  await attempt('remove checkpoint image', () => rm(l.imagePath, { recursive: true, force: true }));
  if (l.netnsPath !== undefined) {
    const netns = l.netnsPath;
    // The pod's network namespace may be gone with the pod: then so is the table.
    await attempt('remove nft table', async () => {
      if (!existsSync(netns)) return;
      await removeTable(netns, tableName(l.id));
    });
    // Its kubelet counter is in this (the node's) namespace, where `delete` runs as the daemon did.
    await attempt('remove kubelet nft table', () => removeKubeletTable(kubeletTableName(l.id)));
  }
}

/** The leftovers of the task `delete` was run for, from its flags and bundle. */
export function leftoversOf(flags: ShimFlags): Leftovers {
  // The id becomes a path component of what is removed: never `..` or a path.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(flags.id))
    throw invalidArgument(
      `-id ${quoteValue(flags.id)}: expected a containerd identifier ([A-Za-z0-9][A-Za-z0-9_.-]*)`,
    );
  const l: Leftovers = {
    id: flags.id,
    imagePath: path.join(imageRootOf(flags.namespace), flags.id),
    workPath: path.join(WORK_ROOT, flags.id),
  };
  try {
    const spec = JSON.parse(readFileSync(path.join(flags.bundle, 'config.json'), 'utf8')) as OciSpec;
    const netns = spec.linux?.namespaces?.find((n) => n.type === 'network')?.path;
    if (netns) l.netnsPath = netns;
  } catch {
    // no spec left: no table to find
  }
  return l;
}

/** The `delete` cleanup hook. */
export function removeScaleLeftovers(flags: ShimFlags): Promise<void> {
  return removeLeftovers(leftoversOf(flags), (m) =>
    process.stderr.write(`zeropod delete ${flags.id}: ${m}\n`),
  );
}
