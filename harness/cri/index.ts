export {
  Cri,
  DEFAULT_CRI_SOCKET,
  type ContainerSpec,
  type ExecSyncResult,
  type PodSpec,
  type RunningPod,
} from './cri.ts';
export { createGrpcClient, type GrpcClient, type CallOptions } from './grpc-client.ts';
export { httpProbe, tcpProbe, KUBE_PROBE_USER_AGENT, type ProbeResult } from './probe.ts';
export { httpGet, httpGetEventually, type HttpResult } from './http-get.ts';
export { containerLogPath, parseCriLog, readContainerLog, waitForLog, type LogLine } from './logs.ts';
export { ExecStream, type ExecStreamOptions, type ExecStreamResult } from './exec-stream.ts';
