/** The restart-safe shim's keeper and the worker's link to it (docs/restart-safety.md). */
export { Keeper, type KeeperOptions } from './keeper.ts';
export { WorkerLink, type ForwardedExit } from './worker-link.ts';
export { RelayConnection, REPLAYABLE_METHODS, type RelayOptions } from './relay-connection.ts';
export {
  ENV_ROLE,
  ENV_WORKER_SOCKET,
  ENV_KEPT_FDS,
  type KeeperMessage,
  type SpliceTarget,
  type WorkerMessage,
} from './messages.ts';
export { runKeeper } from './run-keeper.ts';
