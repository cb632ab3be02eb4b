/**
 * The nft adapter: runs `nft` inside a network namespace (through nsenter, so no thread of ours
 * changes namespace). Owns argv, exit codes and stderr; callers get typed errors.
 */
import { execFile } from 'node:child_process';
import { internal, notFound } from '../base/index.ts';
import {
  deleteRuleset,
  holdConnections,
  parseCounter,
  parseCounters,
  redirectOff,
  redirectOn,
  releaseConnections,
  replaceRuleset,
  type ContainerRules,
  type HeldConnection,
} from './rules.ts';

export function run(netnsPath: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nsenter', [`--net=${netnsPath}`, '--', 'nft', ...args], (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const msg = stderr.trim().split('\n').slice(-3).join(' ') || err.message;
      if (/No such file or directory|does not exist/.test(msg)) {
        return reject(notFound(`nft: ${msg}`, { cause: err, details: { netnsPath, args } }));
      }
      reject(internal(`nft failed: ${msg}`, { cause: err, details: { netnsPath, args } }));
    });
    // nft may exit (an error) before reading its input: the exit callback reports that, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

export class NftTable {
  readonly netnsPath: string;
  readonly rules: ContainerRules;

  constructor(netnsPath: string, rules: ContainerRules) {
    this.netnsPath = netnsPath;
    this.rules = rules;
  }

  /** Installs the table; the redirect rules point at the activator's ports (parallel to the app's). */
  async install(activatorPorts: readonly number[]): Promise<void> {
    await run(this.netnsPath, ['-f', '-'], replaceRuleset(this.rules, activatorPorts));
  }

  async redirect(): Promise<void> {
    await run(this.netnsPath, ['-f', '-'], redirectOn(this.rules.table, this.rules.ports));
  }

  async unredirect(): Promise<void> {
    await run(this.netnsPath, ['-f', '-'], redirectOff(this.rules.table));
  }

  async hold(conns: readonly HeldConnection[]): Promise<void> {
    if (conns.length > 0) await run(this.netnsPath, ['-f', '-'], holdConnections(this.rules.table, conns));
  }

  async release(): Promise<void> {
    await run(this.netnsPath, ['-f', '-'], releaseConnections(this.rules.table));
  }

  /** Packets counted as activity so far. */
  async activity(): Promise<number> {
    return parseCounter(
      await run(this.netnsPath, ['-j', 'list', 'counter', 'inet', this.rules.table, 'activity']),
    );
  }

  /**
   * Both counters from one read: `activity` (clients that always count) and `node` (packets from
   * the node's addresses, kubelet's among them).
   */
  async counters(): Promise<{ activity: number; node: number }> {
    const all = parseCounters(
      await run(this.netnsPath, ['-j', 'list', 'counters', 'table', 'inet', this.rules.table]),
    );
    return { activity: all.get('activity') ?? 0, node: all.get('node') ?? 0 };
  }

  async remove(): Promise<void> {
    try {
      await run(this.netnsPath, ['-f', '-'], deleteRuleset(this.rules.table));
    } catch (err) {
      if ((err as { code?: string }).code !== 'NotFound') throw err;
    }
  }
}

/** Removes a container's table by name (a dead daemon's cleanup: no rules object to hand). */
export async function removeTable(netnsPath: string, table: string): Promise<void> {
  try {
    await run(netnsPath, ['-f', '-'], deleteRuleset(table));
  } catch (err) {
    if ((err as { code?: string }).code !== 'NotFound') throw err;
  }
}
