/**
 * kubelet's own packets to one scaled container, counted in the node's (the shim's) network
 * namespace (pure: builds the ruleset text). kubelet's sockets are told apart by their cgroup v2
 * (`socket cgroupv2`, the cgroup the socket was created in), which no address can do: a hostNetwork
 * ingress on the node sends from the same addresses as kubelet.
 *
 *   table inet zpk_<id>
 *     set pod4/pod6     the pod's addresses
 *     counter kubelet   packets kubelet sends to the container's ports
 *     chain out         (filter, output hook, after the output DNAT of kube-proxy and its peers)
 *
 * The pod's own table counts every packet from the node (rules.ts, counter `node`); what is left
 * after kubelet's is the activity of the node's other clients.
 */
export interface KubeletRules {
  table: string;
  ports: readonly number[];
  pod4: readonly string[];
  pod6: readonly string[];
  /** kubelet's cgroup as nft names it (under /sys/fs/cgroup) and its depth in the hierarchy. */
  cgroup: { nftPath: string; level: number };
}

export function kubeletTableName(containerId: string): string {
  return `zpk_${containerId.slice(0, 16)}`;
}

const set = (items: readonly string[]) => (items.length > 0 ? `elements = { ${items.join(', ')} }` : '');

/** The table, replacing any earlier one of the same name in one transaction. */
export function kubeletRuleset(r: KubeletRules): string {
  const ports = `{ ${r.ports.join(', ')} }`;
  const cg = `socket cgroupv2 level ${r.cgroup.level} ${JSON.stringify(r.cgroup.nftPath)}`;
  return `table inet ${r.table}
delete table inet ${r.table}
table inet ${r.table} {
  set pod4 { type ipv4_addr; ${set(r.pod4)} }
  set pod6 { type ipv6_addr; ${set(r.pod6)} }
  counter kubelet { }
  chain out {
    type filter hook output priority filter; policy accept;
    ip daddr @pod4 tcp dport ${ports} ${cg} counter name kubelet
    ip6 daddr @pod6 tcp dport ${ports} ${cg} counter name kubelet
  }
}
`;
}
