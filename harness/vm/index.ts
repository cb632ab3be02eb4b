export { ensureVmImage, vmImageKey, type VmImage } from './image.ts';
export { vmUp, vmDown, vmExec, vmStatus, vmRun, hostShare, guestShare, type VmStatus } from './vm.ts';
export type { VmExecOptions, VmExecResult } from './agent-client.ts';
export { vmNodeUp } from './node.ts';
