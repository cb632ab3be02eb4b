/**
 * The host side of idle detection (kubelet-rules.ts): one table per scaled container in the node's
 * network namespace (the shim's own), counting kubelet's packets to it.
 */
import { parseCounter } from './rules.ts';
import { kubeletRuleset, kubeletTableName, type KubeletRules } from './kubelet-rules.ts';
import { run } from './nft.ts';

/** The shim's own network namespace (nsenter joins what it already is in). */
const HOST = '/proc/self/ns/net';

export class KubeletCounter {
  readonly table: string;

  private constructor(table: string) {
    this.table = table;
  }

  static async install(containerId: string, r: Omit<KubeletRules, 'table'>): Promise<KubeletCounter> {
    const table = kubeletTableName(containerId);
    await run(HOST, ['-f', '-'], kubeletRuleset({ ...r, table }));
    return new KubeletCounter(table);
  }

  async packets(): Promise<number> {
    return parseCounter(await run(HOST, ['-j', 'list', 'counter', 'inet', this.table, 'kubelet']));
  }

  async remove(): Promise<void> {
    await removeKubeletTable(this.table);
  }
}

/** Removes a container's kubelet table by its name (also a dead daemon's cleanup); gone is fine. */
export async function removeKubeletTable(table: string): Promise<void> {
  try {
    await run(HOST, ['-f', '-'], `delete table inet ${table}\n`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'NotFound') throw err;
  }
}
