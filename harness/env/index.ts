export { paths } from './paths.ts';
export { preflight } from './preflight.ts';
export { ensureRootfs, rootfsPath, rootfsReady } from './rootfs.ts';
export {
  up,
  down,
  exec,
  execArgv,
  execVisible,
  criuCheck,
  initPid,
  isBare,
  requireInitPid,
  cgroupParent,
  type BindMount,
} from './env.ts';
export { run, runVisible, type RunResult } from './run.ts';
