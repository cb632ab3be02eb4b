export { NftTable, removeTable } from './nft.ts';
export {
  ACTIVATOR_MARK,
  holdConnections,
  releaseConnections,
  type HeldConnection,
  createRuleset,
  parseCounter,
  redirectOff,
  redirectOn,
  tableName,
  type ContainerRules,
} from './rules.ts';
