/** The runtime v2 shim: an ordinary runc shim that extensions (scale to zero) attach to. */
export { parseFlags, type ShimFlags, type ShimAction } from './flags.ts';
export { start } from './start.ts';
export { serve, type Extension } from './serve.ts';
export { deleteBundle } from './delete.ts';
export { readStdin, runtimeInfo, RUNTIME_NAME } from './info.ts';
export { TaskService, type TaskServiceHooks } from './task-service.ts';
export { Container, type ExitPolicy, type OciSpec } from './container.ts';
export type { ExitInfo, ProcessPhase, TaskProcess } from './process.ts';
export {
  grouping,
  nodeDaemonMarker,
  NODE_GROUP,
  runcRoot,
  statusSocketPath,
  taskSocketPath,
  SHIM_RUN_DIR,
  type Grouping,
} from './paths.ts';
export { readMetrics, cgroupDir } from './stats.ts';
export { cgroupDirsOf, cgroupDirForPath, type CgroupDirs } from './cgroups.ts';
