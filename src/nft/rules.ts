/**
 * nftables rules for one scalable container, in its pod's network namespace (pure: builds the
 * ruleset text). One table per container:
 *
 *   table inet zp_<id>
 *     set quiet4/quiet6   addresses whose traffic is not activity (this node: kubelet probes;
 *                         the pod's own addresses and loopback unless localhost traffic counts)
 *     counter activity    packets to the container's ports from anyone else
 *     chain input         (filter, input hook)  counts activity
 *     chain wake          (nat, prerouting)     empty while running; while scaled down it
 *                         redirects new connections for the ports to the activator
 *     chain wake_local    (nat, output)         the same for clients inside the pod, except the
 *                         activator's own dials (marked sockets)
 */
export interface ContainerRules {
  table: string;
  ports: readonly number[];
  quiet4: readonly string[];
  quiet6: readonly string[];
}

/** Mark the activator puts on its own sockets so the output redirect leaves them alone. */
export const ACTIVATOR_MARK = 0x7a70;

export function tableName(containerId: string): string {
  return `zp_${containerId.slice(0, 16)}`;
}

const set = (items: readonly string[]) => (items.length > 0 ? `elements = { ${items.join(', ')} }` : '');

export function createRuleset(r: ContainerRules): string {
  const ports = `{ ${r.ports.join(', ')} }`;
  return `table inet ${r.table} {
  set quiet4 { type ipv4_addr; flags interval; ${set(r.quiet4)} }
  set quiet6 { type ipv6_addr; flags interval; ${set(r.quiet6)} }
  counter activity { }
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${ports} ip saddr != @quiet4 counter name activity
    tcp dport ${ports} ip6 saddr != @quiet6 counter name activity
  }
  chain wake {
    type nat hook prerouting priority dstnat; policy accept;
  }
  chain wake_local {
    type nat hook output priority -100; policy accept;
  }
}
`;
}

/** Replaces an existing table atomically (delete + create in one transaction). */
export function replaceRuleset(r: ContainerRules): string {
  return `table inet ${r.table}\ndelete table inet ${r.table}\n${createRuleset(r)}`;
}

/** Redirect each port to the activator's port (ports[i] -> activatorPorts[i]). */
export function redirectOn(table: string, ports: readonly number[], activatorPorts: readonly number[]): string {
  const lines = [`flush chain inet ${table} wake`, `flush chain inet ${table} wake_local`];
  ports.forEach((p, i) => {
    const to = activatorPorts[i]!;
    lines.push(`add rule inet ${table} wake tcp dport ${p} redirect to :${to}`);
    lines.push(`add rule inet ${table} wake_local meta mark != ${ACTIVATOR_MARK} tcp dport ${p} redirect to :${to}`);
  });
  return lines.join('\n') + '\n';
}

export function redirectOff(table: string): string {
  return `flush chain inet ${table} wake\nflush chain inet ${table} wake_local\n`;
}

export function deleteRuleset(table: string): string {
  return `delete table inet ${table}\n`;
}

/** Parses `nft -j list counter ...` output into the packet count. */
export function parseCounter(json: string): number {
  const doc = JSON.parse(json) as { nftables?: { counter?: { packets?: number } }[] };
  for (const item of doc.nftables ?? []) if (item.counter?.packets !== undefined) return item.counter.packets;
  throw new Error('no counter in nft output');
}
