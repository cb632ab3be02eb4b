/** The runc adapter: typed calls to the runc CLI, its errors as our codes, and the console socket. */
export {
  Runc,
  type RuncConfig,
  type CallOptions,
  type CreateOptions,
  type ExecOptions,
  type CheckpointOptions,
  type RestoreOptions,
} from './runc.ts';
export { ConsoleSocket, type ConsoleSocketOptions } from './console-socket.ts';
export { signalNumber, type ManageCgroupsMode } from './argv.ts';
export { RuncExitError, type RuncCommand } from './runc-error.ts';
export {
  CONTAINER_STATUSES,
  type ContainerState,
  type ContainerStatus,
  type LinuxResources,
  type ProcessStdio,
  type StdioTarget,
  type RuncStats,
  type MemoryEntry,
  type BlkioEntry,
} from './types.ts';
export {
  readRuncState,
  writeRuncState,
  restoredRuncState,
  runcStatePath,
  type RuncStateFile,
  type RuncConfigState,
  type RuncMount,
  type RuncNamespace,
} from './state-file.ts';
