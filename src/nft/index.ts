export { NftTable, removeTable } from './nft.ts';
export {
  ACTIVATOR_MARK,
  holdConnections,
  releaseConnections,
  type HeldConnection,
  createRuleset,
  parseCounter,
  parseCounters,
  redirectOff,
  redirectOn,
  tableName,
  type ContainerRules,
} from './rules.ts';
export { KubeletCounter, removeKubeletTable } from './kubelet-counter.ts';
export { kubeletRuleset, kubeletTableName, type KubeletRules } from './kubelet-rules.ts';
