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
  const h = createHash('sha256')
    .update(`${containerdAddress}\0${namespace}\0${group}`)
    .digest('hex')
    .slice(0, 32);
  return path.join(SHIM_RUN_DIR, 's', `${h}.sock`);
}

/** The shim's local status API (scale-to-zero phases, for a node manager and the CLI). */
export function statusSocketPath(namespace: string, group: string): string {
  const h = createHash('sha256').update(`${namespace}\0${group}`).digest('hex').slice(0, 32);
  return path.join(SHIM_RUN_DIR, 'status', `${h}.sock`);
}

/**
 * How pods map to shim daemons. `node` (default): one daemon per containerd namespace on the node
 * serves every pod (a Node.js process per pod costs ~30 MiB and ~200 ms of start-up each); `pod`:
 * one daemon per pod, like containerd's runc shim (isolation: a crash touches one pod).
 * Set with ZEROPOD_SHIM_GROUPING in containerd's environment.
 */
export type Grouping = 'node' | 'pod';

export function grouping(): Grouping {
  return process.env['ZEROPOD_SHIM_GROUPING'] === 'pod' ? 'pod' : 'node';
}

/** The group name of the node-wide daemon. */
export const NODE_GROUP = '__node__';

/**
 * Files the node-wide daemon writes once it serves: `<prefix>.pid` and `<prefix>.addr` (its task
 * socket). The launcher's shell fast path answers `start` from them without starting Node.js.
 */
export function nodeDaemonMarker(namespace: string): string {
  return path.join(SHIM_RUN_DIR, 's', `node-${namespace}`);
}
