/**
 * Activity for idle detection: every packet to the container's ports counts, except loopback
 * (unless count-localhost-traffic) and kubelet's own (its probes). The pod's table counts what
 * comes from the node's addresses apart from the rest; the node's table counts kubelet's packets
 * (kubelet found by its process, told apart by its cgroup: src/sys/kubelet-cgroup.ts). Node traffic
 * beyond kubelet's (a hostNetwork ingress, a NodePort path source-NATed to the node) is activity.
 *
 * Where kubelet cannot be told apart (no kubelet process, kubelet in the root cgroup, no cgroup2
 * mount, nft without `socket cgroupv2`), traffic from the node's addresses does not count, as before,
 * and the shim says why once.
 */
import os from 'node:os';
import { describeError, type Logger } from '../../base/index.ts';
import { KubeletCounter, NftTable, tableName, type HeldConnection } from '../../nft/index.ts';
import { findKubeletCgroup, withNetns, type KubeletCgroup } from '../../sys/index.ts';
import { NodeBalance } from './node-balance.ts';
import type { RedirectTable } from './scale-types.ts';

export interface TrafficOptions {
  containerId: string;
  netnsPath: string;
  ports: readonly number[];
  nodeAddresses: ReadonlySet<string>;
  countLocalhost: boolean;
  log: Logger;
}

const LOOPBACK = (a: string) => a.startsWith('127.') || a === '::1';

/** kubelet's cgroup, looked up at most every 30 s (a container start is not the place to scan /proc). */
let cached: { at: number; value: KubeletCgroup } | undefined;
function kubeletCgroup(): KubeletCgroup {
  const now = performance.now();
  if (!cached || now - cached.at > 30_000) cached = { at: now, value: findKubeletCgroup() };
  return cached.value;
}

const said = new Set<string>();
function sayOnce(log: Logger, reason: string): void {
  if (said.has(reason)) return;
  said.add(reason);
  log.warn('traffic from the node does not count as activity: kubelet cannot be told apart', { reason });
}

/** The pod's addresses, read inside its network namespace (getifaddrs runs on this thread). */
function podAddresses(netnsPath: string): string[] {
  const ifs = withNetns(netnsPath, () => os.networkInterfaces());
  return Object.values(ifs)
    .flatMap((l) => l ?? [])
    .filter((a) => !a.internal)
    .map((a) => a.address.replace(/%.*$/, ''));
}

/**
 * The container's nft table (redirect, holds) with the activity count above: the pod's table is
 * installed with the activator's ports, then kubelet's side if it can be told apart.
 */
export class TrafficTable implements RedirectTable {
  readonly #o: TrafficOptions;
  readonly #table: NftTable;
  #kubelet: KubeletCounter | undefined;
  readonly #balance = new NodeBalance();
  #excess = 0;

  constructor(o: TrafficOptions) {
    this.#o = o;
    const node = [...o.nodeAddresses].filter((a) => !LOOPBACK(a));
    const quiet = o.countLocalhost ? [] : ['127.0.0.0/8', '::1'];
    this.#table = new NftTable(o.netnsPath, {
      table: tableName(o.containerId),
      ports: [...o.ports],
      quiet4: quiet.filter((a) => !a.includes(':')),
      quiet6: quiet.filter((a) => a.includes(':')),
      node4: node.filter((a) => !a.includes(':')),
      node6: node.filter((a) => a.includes(':')),
    });
  }

  async install(activatorPorts: readonly number[]): Promise<void> {
    await this.#table.install(activatorPorts);
    this.#kubelet = await kubeletSide(this.#o);
  }

  redirect(): Promise<void> {
    return this.#table.redirect();
  }

  unredirect(): Promise<void> {
    return this.#table.unredirect();
  }

  hold(conns: readonly HeldConnection[]): Promise<void> {
    return this.#table.hold(conns);
  }

  release(): Promise<void> {
    return this.#table.release();
  }

  /** Whether traffic from the node's addresses can count (kubelet is told apart). */
  get countsNodeTraffic(): boolean {
    return this.#kubelet !== undefined;
  }

  /** A cumulative count that grows exactly when traffic that counts arrived (IdleTracker's input). */
  async activity(): Promise<number> {
    const pod = await this.#table.counters();
    if (this.#kubelet) {
      try {
        // Read after the pod's counters: a kubelet packet in flight between the two reads is then
        // counted on the node's side only, never as activity (see NodeBalance).
        this.#excess = this.#balance.sample(pod.node, await this.#kubelet.packets());
      } catch (err) {
        this.#o.log.debug('kubelet counter unreadable: node traffic not counted this time', {
          error: describeError(err),
        });
      }
    }
    return pod.activity + this.#excess;
  }

  async remove(): Promise<void> {
    await this.#table.remove();
    await this.#kubelet?.remove();
  }
}

async function kubeletSide(o: TrafficOptions): Promise<KubeletCounter | undefined> {
  const cg = kubeletCgroup();
  if (!cg.found) return (sayOnce(o.log, cg.reason), undefined);
  try {
    const pod = podAddresses(o.netnsPath);
    if (pod.length === 0) return (sayOnce(o.log, 'the pod has no address of its own'), undefined);
    const counter = await KubeletCounter.install(o.containerId, {
      ports: [...o.ports],
      pod4: pod.filter((a) => !a.includes(':')),
      pod6: pod.filter((a) => a.includes(':')),
      cgroup: { nftPath: cg.nftPath, level: cg.level },
    });
    o.log.debug('kubelet told apart by its cgroup', { kubeletPid: cg.pid, cgroup: cg.nftPath, pod });
    return counter;
  } catch (err) {
    cached = undefined; // kubelet may have moved: look again next time
    sayOnce(o.log, `nft refused the kubelet rule: ${describeError(err)}`);
    return undefined;
  }
}
