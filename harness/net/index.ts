export {
  createClientHost,
  httpGetFrom,
  exchange,
  type ClientHost,
  type ClientResponse,
} from './client-netns.ts';
export { redisCommand } from './resp.ts';
export {
  allScaled,
  nextPhaseChange,
  readStatus,
  scaledStatus,
  waitForPhase,
  type ScaledStatus,
} from './status.ts';
export { pidsInContainer, appPidsInContainer, isRestoreWaiter, mountsMentioning } from './procs.ts';
export { bound, SLOWDOWN } from './slowdown.ts';
