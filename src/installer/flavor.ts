/**
 * Where each kind of containerd keeps its config, socket, binary and service. Plain containerd reads
 * /etc/containerd/config.toml; k3s and rke2 write config.toml themselves from their built-in template
 * on every start, so a change must go into the template file beside it (config.toml.tmpl for
 * containerd 1.x's version 2 config, config-v3.toml.tmpl for containerd 2.x's version 3).
 */
export type Flavor = 'containerd' | 'k3s' | 'rke2';
export const FLAVORS: readonly Flavor[] = ['containerd', 'k3s', 'rke2'];

export interface FlavorLayout {
  flavor: Flavor;
  /** The config containerd reads (host path). */
  config: string;
  /**
   * The template file the distribution renders `config` from, by config version; absent for plain
   * containerd, whose config is edited in place.
   */
  template?: { 2: string; 3: string };
  /** Where containerd's binary may be (host paths); the first that exists counts. */
  binaries: readonly string[];
  /** systemd units that run containerd, tried in order (k3s/rke2 nodes run one of two). */
  units: readonly string[];
  socket: string;
}

const rancher = (dir: string) => `/var/lib/rancher/${dir}/agent/etc/containerd`;

export function flavorLayout(flavor: Flavor): FlavorLayout {
  switch (flavor) {
    case 'containerd':
      return {
        flavor,
        config: '/etc/containerd/config.toml',
        binaries: [
          '/usr/bin/containerd',
          '/usr/local/bin/containerd',
          '/usr/sbin/containerd',
          '/bin/containerd',
        ],
        units: ['containerd.service'],
        socket: '/run/containerd/containerd.sock',
      };
    case 'k3s':
      return {
        flavor,
        config: `${rancher('k3s')}/config.toml`,
        template: { 2: `${rancher('k3s')}/config.toml.tmpl`, 3: `${rancher('k3s')}/config-v3.toml.tmpl` },
        // k3s embeds containerd in its own binary.
        binaries: ['/usr/local/bin/k3s', '/usr/bin/k3s'],
        units: ['k3s.service', 'k3s-agent.service'],
        socket: '/run/k3s/containerd/containerd.sock',
      };
    case 'rke2':
      return {
        flavor,
        config: `${rancher('rke2')}/config.toml`,
        template: { 2: `${rancher('rke2')}/config.toml.tmpl`, 3: `${rancher('rke2')}/config-v3.toml.tmpl` },
        binaries: ['/var/lib/rancher/rke2/bin/containerd'],
        units: ['rke2-server.service', 'rke2-agent.service'],
        socket: '/run/k3s/containerd/containerd.sock',
      };
  }
}
