/** The `cp` adapter. */
export { copyTree, type CopyTreeOptions } from './copy-tree.ts';
