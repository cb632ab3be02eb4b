export { errnoName, errnoNumber, errnoOf, codeForErrno, sysError, fromNodeError } from './sys-error.ts';
export {
  LINUX,
  getpid,
  setChildSubreaper,
  isChildSubreaper,
  pidfdOpen,
  pidfdGetfd,
  waitPidfd,
  waitPid,
  decodeSiginfo,
  setns,
  close,
  kill,
  libcHandle,
  mount,
  umount2,
  setsockoptInt,
  peekSocket,
  type ChildExit,
} from './libc.ts';
export { parseIp, formatIp, encodeSockaddr, checkPort, type IpAddress, type IpFamily } from './inet.ts';
export { tcpSocket, tcpListener, type TcpListenerOptions } from './tcp.ts';
export { withNetns } from './with-netns.ts';
export {
  listeningTcpPorts,
  socketInodes,
  ownListeningTcpPorts,
  parseProcNetTcp,
  parseProcNetTcpConnections,
  connectedTcpSockets,
  type TcpConnection,
  parseProcStat,
  readProcStatSync,
  parseSocketLink,
  parseChildren,
  type ListeningSocket,
  type ProcStat,
} from './proc.ts';
export { Reaper, type ExitStatus, type ReaperOptions } from './reaper.ts';
export { fifoSocket, openFifo, openFifoFd, type FifoMode } from './fifo.ts';
export { pipe } from './pipe.ts';
export {
  dupCloexec,
  getWindowSize,
  openPtyPair,
  setNonBlocking,
  setWindowSize,
  writeSome,
  type WindowSize,
} from './pty.ts';
export { resolveExecutable } from './executable.ts';
export { isUnder, cmdlineNames, mountPointsUnder, processesNaming } from './proc-leftovers.ts';
export { parseSysvShm, isOrphaned, removeOrphanedShm, type SysvShmSegment } from './sysv-shm.ts';
export {
  findKubeletCgroup,
  isKubelet,
  unifiedPathOf,
  cgroup2MountOf,
  nftCgroupOf,
  type KubeletCgroup,
} from './kubelet-cgroup.ts';
