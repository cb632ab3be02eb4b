export { Cri, DEFAULT_CRI_SOCKET, type ContainerSpec, type PodSpec, type RunningPod } from './cri.ts';
export { createGrpcClient, type GrpcClient, type CallOptions } from './grpc-client.ts';
export { httpProbe, tcpProbe, KUBE_PROBE_USER_AGENT, type ProbeResult } from './probe.ts';
export { httpGet, httpGetEventually, type HttpResult } from './http-get.ts';
