/** The CRIU adapter: its logs, statistics, configuration files and self-check. */
export {
  criuLogPath,
  criuLogTail,
  criuFailureReport,
  describeCriuFailure,
  parseCriuLog,
  lastLines,
  readLogEnd,
  type CriuAction,
  type CriuLogEntry,
  type CriuFailureReport,
} from './criu-log.ts';
export {
  readCriuStats,
  decodeCriuStats,
  type CriuStats,
  type CriuDumpStats,
  type CriuRestoreStats,
} from './criu-stats.ts';
export {
  CRIU_CONFIG_ANNOTATION,
  RUNC_DEFAULT_CRIU_CONFIG,
  renderCriuConfig,
  writeCriuConfig,
  type CriuConfigOptions,
} from './criu-config.ts';
export {
  criuCheck,
  criuSupportsDirtyTracking,
  criuVersion,
  parseCriuVersion,
  criuAtLeast,
  type CriuVersion,
  type CriuToolOptions,
} from './criu-check.ts';
export { startLazyPages, type LazyPagesDaemon } from './lazy-pages.ts';
export { criuRestoreArgv, type CriuRestoreArgs } from './restore-argv.ts';
export { spawnRestoreWaiter, type RestoreWaiter } from './restore-waiter.ts';
