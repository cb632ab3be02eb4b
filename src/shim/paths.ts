/** Where the shim keeps its sockets and runc state on the node. */
import { createHash } from 'node:crypto';
import path from 'node:path';

export const SHIM_RUN_DIR = process.env['ZEROPOD_SHIM_RUN_DIR'] ?? '/run/zeropod';

/** runc's state root, the same as containerd's runc shim uses, so `runc --root ... list` shows both. */
export function runcRoot(namespace: string): string {
  return path.join('/run/containerd/runc', namespace);
}

/** One task socket per group (a pod): deterministic, so a second `start` finds the first daemon. */
export function taskSocketPath(containerdAddress: string, namespace: string, group: string): string {
  const h = createHash('sha256').update(`${containerdAddress}\0${namespace}\0${group}`).digest('hex').slice(0, 32);
  return path.join(SHIM_RUN_DIR, 's', `${h}.sock`);
}

/** The shim's local status API (scale-to-zero phases, for a node manager and the CLI). */
export function statusSocketPath(namespace: string, group: string): string {
  const h = createHash('sha256').update(`${namespace}\0${group}`).digest('hex').slice(0, 32);
  return path.join(SHIM_RUN_DIR, 'status', `${h}.sock`);
}
