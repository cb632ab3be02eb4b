/**
 * Network namespaces the benchmark makes inside the node environment, each joined to the
 * environment's own namespace by a veth pair with a /30 of 10.99.0.0/16 (routed, no bridge):
 *
 *   zpb-client  10.99.0.2  the clients: a remote address, so traffic counts as activity (the
 *                          runtime ignores this node's own addresses: kubelet probes)
 *   zpb-b<i>    10.99.<i+1>.2   one raw runc baseline container each
 *
 * Pods (10.88.0.0/16, CNI bridge) and baselines are both reached through the environment's
 * routing, one hop each. Everything made here is named zpb*, so a crashed run's leftovers can be
 * found and removed (`removeStale`) without touching anything else.
 */
import { existsSync, readdirSync } from 'node:fs';
import { sh, shQuiet } from './sh.ts';

const PREFIX = 'zpb';

export interface Netns {
  name: string;
  path: string;
  /** The address inside the namespace. */
  ip: string;
  /** The environment's side of the veth. */
  gateway: string;
  remove(): Promise<void>;
}

export async function createNetns(name: string, subnet: number): Promise<Netns> {
  if (!name.startsWith(`${PREFIX}-`)) throw new Error(`netns ${name} must start with ${PREFIX}-`);
  const hostIf = name.replace(/-/g, '').slice(0, 15);
  const gateway = `10.99.${subnet}.1`;
  const ip = `10.99.${subnet}.2`;
  const ns: Netns = {
    name,
    path: `/run/netns/${name}`,
    ip,
    gateway,
    async remove() {
      await shQuiet('ip', ['link', 'del', hostIf]);
      await shQuiet('ip', ['netns', 'del', name]);
    },
  };
  try {
    await sh('ip', ['netns', 'add', name]);
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    await sh('ip', ['addr', 'add', `${gateway}/30`, 'dev', hostIf]);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', name, 'addr', 'add', `${ip}/30`, 'dev', 'eth0']);
    await sh('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', name, 'route', 'add', 'default', 'via', gateway]);
    return ns;
  } catch (err) {
    await ns.remove();
    throw err;
  }
}

/** Removes namespaces and links left by an earlier run that did not finish (ours only: zpb*). */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = [];
  if (existsSync('/run/netns')) {
    for (const n of readdirSync('/run/netns').filter((n) => n.startsWith(`${PREFIX}-`))) {
      await shQuiet('ip', ['netns', 'del', n]);
      removed.push(`netns ${n}`);
    }
  }
  const links = await shQuiet('ip', ['-o', 'link', 'show']);
  for (const m of links.stdout.matchAll(/^\d+: (zpb[a-z0-9]*)[@:]/gm)) {
    await shQuiet('ip', ['link', 'del', m[1]!]);
    removed.push(`link ${m[1]!}`);
  }
  return removed;
}
