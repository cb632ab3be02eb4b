export { NftTable } from './nft.ts';
export { ACTIVATOR_MARK, createRuleset, parseCounter, redirectOff, redirectOn, tableName, type ContainerRules } from './rules.ts';
