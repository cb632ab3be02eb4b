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
  | { type: 'leaving' };

/** keeper -> worker */
export type KeeperMessage =
  /** A process re-parented to the keeper (a container's init, after a worker died) exited. */
  {
    type: 'exit';
    pid: number;
    startTime: number;
    exitCode: number;
    signal?: number;
    exitedAt: string;
  };

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
  return false;
}

export function isKeeperMessage(m: unknown): m is KeeperMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return o['type'] === 'exit' && Number.isInteger(o['pid']) && Number.isInteger(o['exitCode']);
}
