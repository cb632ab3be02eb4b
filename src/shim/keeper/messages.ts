/**
 * What the keeper and its worker say to each other over the worker's IPC channel (Node's, fd 3).
 * Frames of containerd's connections never travel here: they go over the worker's own socket.
 */

/** worker -> keeper */
export type WorkerMessage =
  /** The worker serves on its socket: the keeper connects containerd's connections to it. */
  | { type: 'ready' }
  /** Keep a copy of the worker's fd `fd` under `key` (taken with pidfd_getfd) for the next worker. */
  | { type: 'keep'; key: string; fd: number }
  /** The fd kept under `key` is no longer needed (its container is gone). */
  | { type: 'drop'; key: string }
  /** The worker ends for good (a pod's shim with no task left): the keeper ends after it. */
  | { type: 'done' }
  /** The worker is stopping: send it nothing new (hold it for the next), let it answer what it has. */
  | { type: 'leaving' }
  /**
   * The connection kept under `key` (a client the activator held through a wake) is the keeper's to
   * proxy from now on: it dials the app in `netnsPath` and joins the two, so that the connection
   * outlives this worker. Answered with `spliced` (same `id`).
   */
  | { type: 'splice'; id: number; key: string; target: SpliceTarget };

/** Where the keeper connects a held client: the app's port on loopback inside its pod. */
export interface SpliceTarget {
  netnsPath: string;
  port: number;
  mark: number;
  connectTimeoutMs: number;
  idleMs: number;
}

/** A process re-parented to the keeper (a container's init, after a worker died) exited. */
export interface ExitMessage {
  type: 'exit';
  pid: number;
  startTime: number;
  exitCode: number;
  signal?: number;
  exitedAt: string;
}

/** keeper -> worker */
export type KeeperMessage =
  | ExitMessage
  /** The answer to `splice`: the keeper joined the client to the app, or could not (the client is closed). */
  | { type: 'spliced'; id: number; error?: string };

/** Environment of a worker: its socket, and the kept fds it inherited (key -> fd number). */
export const ENV_ROLE = 'ZEROPOD_SHIM_ROLE';
export const ENV_WORKER_SOCKET = 'ZEROPOD_WORKER_SOCKET';
export const ENV_KEPT_FDS = 'ZEROPOD_KEPT_FDS';

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o['type'] === 'ready' || o['type'] === 'done' || o['type'] === 'leaving') return true;
  if (o['type'] === 'keep') return typeof o['key'] === 'string' && Number.isInteger(o['fd']);
  if (o['type'] === 'drop') return typeof o['key'] === 'string';
  if (o['type'] === 'splice')
    return typeof o['key'] === 'string' && Number.isInteger(o['id']) && isTarget(o['target']);
  return false;
}

function isTarget(t: unknown): t is SpliceTarget {
  if (typeof t !== 'object' || t === null) return false;
  const o = t as Record<string, unknown>;
  return (
    typeof o['netnsPath'] === 'string' &&
    ['port', 'mark', 'connectTimeoutMs', 'idleMs'].every(
      (k) => Number.isInteger(o[k]) && (o[k] as number) >= 0,
    )
  );
}

export function isKeeperMessage(m: unknown): m is KeeperMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o['type'] === 'spliced') return Number.isInteger(o['id']);
  return o['type'] === 'exit' && Number.isInteger(o['pid']) && Number.isInteger(o['exitCode']);
}
