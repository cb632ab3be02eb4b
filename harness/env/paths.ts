/** Where the node environment keeps things on the host. One place, overridable for parallel runs. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const cacheRoot = process.env['ZEROPOD_CACHE'] ?? '/var/cache/zeropod-ts';
const stateRoot = process.env['ZEROPOD_STATE'] ?? '/var/lib/zeropod-ts/env';

export const paths = {
  project: path.resolve(fileURLToPath(import.meta.url), '../../..'),
  cache: cacheRoot,
  images: path.join(cacheRoot, 'images'),
  /** Runtime: the pid file and the mount point of the root (inside the env's mount namespace). */
  run: process.env['ZEROPOD_RUN'] ?? '/run/zeropod-ts-env',
  /** Persistent per-environment state: overlay upper dir, containerd's root. Wiped on `up`. */
  state: stateRoot,
  logs: process.env['ZEROPOD_LOGS'] ?? '/var/log/zeropod-ts',
  /** Inside the environment. */
  containerdSocket: '/run/containerd/containerd.sock',
} as const;
