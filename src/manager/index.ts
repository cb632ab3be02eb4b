/** zeropod-manager: the node daemon that turns the shims' status into labels, events and metrics. */
export { Manager } from './manager.ts';
export { managerOptions, type ManagerOptions } from './options.ts';
export { ClientNodeApi, type KubeApi, type PodEvent } from './kube-api.ts';
export { NodeView, type Effect, type StatusValue } from './node-view.ts';
export { LABEL_PREFIX } from './status-writer.ts';
export { runManager } from './run.ts';
