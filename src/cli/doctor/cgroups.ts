/**
 * The cgroup layout, from the mount table: unified (v2 only), hybrid (v1 controllers plus a v2
 * mount at /sys/fs/cgroup/unified) or legacy (v1). runc checkpoints by freezing the container, so v1
 * hosts need the freezer controller.
 */
import { fail, ok, warn, type Finding } from './finding.ts';

export type CgroupLayout =
  { kind: 'unified' } | { kind: 'hybrid' | 'legacy'; controllers: string[] } | { kind: 'none' };

export function parseCgroupLayout(mounts: string): CgroupLayout {
  let unified = false;
  let hybrid = false;
  const controllers = new Set<string>();
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, opts] = line.split(' ');
    if (type === 'cgroup2') {
      if (mountPoint === '/sys/fs/cgroup') unified = true;
      else hybrid = true;
    } else if (type === 'cgroup') {
      for (const o of (opts ?? '').split(','))
        if (!['rw', 'ro', 'nosuid', 'nodev', 'noexec', 'relatime'].includes(o) && !o.startsWith('name='))
          controllers.add(o);
    }
  }
  if (unified) return { kind: 'unified' };
  if (controllers.size > 0)
    return { kind: hybrid ? 'hybrid' : 'legacy', controllers: [...controllers].sort() };
  return { kind: 'none' };
}

export function checkCgroups(mounts: string): Finding[] {
  const layout = parseCgroupLayout(mounts);
  switch (layout.kind) {
    case 'unified':
      return [ok('cgroups', 'v2 (unified)')];
    case 'none':
      return [
        fail(
          'cgroups',
          'no cgroup filesystem mounted',
          'mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)',
        ),
      ];
    default: {
      const out = [
        warn(
          'cgroups',
          `v1 (${layout.kind}; controllers ${layout.controllers.join(', ')})`,
          'boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2; kubelet 1.35+ also needs failCgroupV1: false on v1',
        ),
      ];
      if (!layout.controllers.includes('freezer')) {
        out.push(
          fail(
            'cgroups freezer',
            'the v1 freezer controller is not mounted',
            'mount the freezer controller (runc freezes a container to checkpoint it)',
          ),
        );
      }
      return out;
    }
  }
}
