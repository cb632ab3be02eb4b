/** Where scale to zero keeps a container's checkpoint image and its work files on the node. */
import path from 'node:path';

/** Images survive a daemon restart (disk); one directory per container under a namespace. */
export function imageRootOf(namespace: string): string {
  return path.join('/var/lib/zeropod-ts/images', namespace);
}

/** CRIU's logs and sockets, CRIU's root bind, the tmpfs copies: gone with the node's /run. */
export const WORK_ROOT = '/run/zeropod/work';
