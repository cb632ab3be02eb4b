export { ensureK8sBinaries, k8sBin, k8sReady, K8S_PROGRAMS } from './binaries.ts';
export {
  CLUSTER,
  clusterAnswers,
  clusterEnvOptions,
  kubeconfigPath,
  kubectl,
  startCluster,
} from './cluster.ts';
export {
  containerIdOf,
  createNamespace,
  deleteNamespace,
  example,
  isReady,
  kube,
  kubeconfigHere,
  kubeJson,
  podOf,
  type PodInfo,
} from './kube.ts';
export { ensureInstallerImage, INSTALLER_IMAGE } from './installer-image.ts';
