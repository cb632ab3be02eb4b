/**
 * nftables rules for one scalable container, in its pod's network namespace (pure: builds the
 * ruleset text). One table per container:
 *
 *   table inet zp_<id>
 *     set quiet4/quiet6   addresses whose traffic is never activity (loopback: sidecars in the
 *                         pod, unless localhost traffic counts)
 *     set node4/node6     this node's addresses: kubelet's probes come from there, and so do
 *                         hostNetwork clients and connections source-NATed to the node
 *     counter activity    packets to the container's ports from anyone else (neither set)
 *     counter node        packets from the node's addresses to the container's ports and to the
 *                         activator's (redirected while asleep): node traffic minus kubelet's
 *                         (counted in the host's namespace, kubelet-rules.ts) is activity
 *     chain input         (filter, input hook)  counts activity
 *     set asleep          the app ports whose new connections go to the activator; empty
 *                         while the app runs
 *     chain wake          (nat, prerouting)     redirects new connections for ports in `asleep`
 *     chain wake_local    (nat, output)         the same for clients inside the pod, except the
 *                         activator's own dials (marked sockets)
 *     set held4/held6     connections the sleeping app had open (remote . port . local . port):
 *                         their packets are dropped while it sleeps, so the kernel does not answer
 *                         with a reset and the peer's retransmissions find the restored socket
 *     chain hold          (filter, input, before `input`) the drop; only while connections are held
 *
 * The redirect rules never change while the container lives: sleeping and waking only fill and
 * empty the `asleep` set. Flushing the NAT rules instead (measured here) broke the replies of
 * connections already redirected to the activator: a held client got nothing back.
 */
export interface ContainerRules {
  table: string;
  ports: readonly number[];
  quiet4: readonly string[];
  quiet6: readonly string[];
  node4: readonly string[];
  node6: readonly string[];
}

/** Mark the activator puts on its own sockets so the output redirect leaves them alone. */
export const ACTIVATOR_MARK = 0x7a70;

export function tableName(containerId: string): string {
  return `zp_${containerId.slice(0, 16)}`;
}

const set = (items: readonly string[]) => (items.length > 0 ? `elements = { ${items.join(', ')} }` : '');

export function createRuleset(r: ContainerRules, activatorPorts: readonly number[] = []): string {
  const ports = `{ ${r.ports.join(', ')} }`;
  const nodePorts = `{ ${[...r.ports, ...activatorPorts].join(', ')} }`;
  const redirects = (extra: string) =>
    r.ports
      .map((p, i) =>
        activatorPorts[i]
          ? `    ${extra}tcp dport @asleep tcp dport ${p} redirect to :${activatorPorts[i]}`
          : '',
      )
      .filter(Boolean)
      .join('\n');
  return `table inet ${r.table} {
  set quiet4 { type ipv4_addr; flags interval; auto-merge; ${set(r.quiet4)} }
  set quiet6 { type ipv6_addr; flags interval; auto-merge; ${set(r.quiet6)} }
  set node4 { type ipv4_addr; flags interval; auto-merge; ${set(r.node4)} }
  set node6 { type ipv6_addr; flags interval; auto-merge; ${set(r.node6)} }
  set asleep { type inet_service; }
  set held4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }
  set held6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }
  counter activity { }
  counter node { }
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport ${nodePorts} ip saddr @node4 counter name node
    tcp dport ${nodePorts} ip6 saddr @node6 counter name node
    tcp dport ${ports} ip saddr != @quiet4 ip saddr != @node4 counter name activity
    tcp dport ${ports} ip6 saddr != @quiet6 ip6 saddr != @node6 counter name activity
  }
  chain wake {
    type nat hook prerouting priority dstnat; policy accept;
${redirects('')}
  }
  chain wake_local {
    type nat hook output priority -100; policy accept;
${redirects(`meta mark != ${ACTIVATOR_MARK} `)}
  }
}
`;
}

/** Replaces an existing table atomically (delete + create in one transaction). */
export function replaceRuleset(r: ContainerRules, activatorPorts: readonly number[] = []): string {
  return `table inet ${r.table}\ndelete table inet ${r.table}\n${createRuleset(r, activatorPorts)}`;
}

/** New connections to the app's ports go to the activator. */
export function redirectOn(table: string, ports: readonly number[]): string {
  return `add element inet ${table} asleep { ${ports.join(', ')} }\n`;
}

export function redirectOff(table: string): string {
  return `flush set inet ${table} asleep\n`;
}

export function deleteRuleset(table: string): string {
  return `delete table inet ${table}\n`;
}

export interface HeldConnection {
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * The chain that drops held connections' packets exists only while some are held: while the app
 * runs, every packet it receives would otherwise pay its two set lookups.
 */
const holdChain = (table: string) =>
  `add chain inet ${table} hold { type filter hook input priority -10; policy accept; }\n`;

/** Starts dropping the packets of these connections (remote -> local). */
export function holdConnections(table: string, conns: readonly HeldConnection[]): string {
  return (
    holdChain(table) +
    `flush chain inet ${table} hold\n` +
    `add rule inet ${table} hold ip saddr . tcp sport . ip daddr . tcp dport @held4 drop\n` +
    `add rule inet ${table} hold ip6 saddr . tcp sport . ip6 daddr . tcp dport @held6 drop\n` +
    conns
      .map(
        (c) =>
          `add element inet ${table} held${c.family} { ${c.remoteAddress} . ${c.remotePort} . ${c.localAddress} . ${c.localPort} }`,
      )
      .join('\n') +
    '\n'
  );
}

/** Lets held connections' packets in again, and removes the chain (it may not exist: add first). */
export function releaseConnections(table: string): string {
  return (
    holdChain(table) +
    `flush chain inet ${table} hold\ndelete chain inet ${table} hold\n` +
    `flush set inet ${table} held4\nflush set inet ${table} held6\n`
  );
}

/** Parses `nft -j list counters table ...` output: packets per counter name. */
export function parseCounters(json: string): Map<string, number> {
  const doc = JSON.parse(json) as { nftables?: { counter?: { name?: string; packets?: number } }[] };
  const out = new Map<string, number>();
  for (const item of doc.nftables ?? [])
    if (item.counter?.name !== undefined && item.counter.packets !== undefined)
      out.set(item.counter.name, item.counter.packets);
  return out;
}

/** Parses `nft -j list counter ...` output into the packet count. */
export function parseCounter(json: string): number {
  const doc = JSON.parse(json) as { nftables?: { counter?: { packets?: number } }[] };
  for (const item of doc.nftables ?? []) if (item.counter?.packets !== undefined) return item.counter.packets;
  throw new Error('no counter in nft output');
}
