/**
 * The cgroup of a container whose cgroups systemd manages (`runc --systemd-cgroup`, containerd's
 * `SystemdCgroup = true`): its OCI cgroupsPath is `slice:prefix:name`, not a path, and runc asks
 * systemd for a transient unit `prefix-name.scope` (or the slice `name`, when it ends in .slice)
 * inside `slice` (system.slice when empty). The unit's cgroup is where systemd puts units: the
 * slice's own name spells its ancestry, `kubepods-besteffort-pod1.slice` living in
 * `/kubepods.slice/kubepods-besteffort.slice/`. Pure: the result is a path from the hierarchy's root.
 */

export interface SystemdCgroupsPath {
  slice: string;
  prefix: string;
  name: string;
}

/** Whether an OCI cgroupsPath has the systemd form (CRI writes it when the parent is a slice). */
export const isSystemdCgroupsPath = (cgroupsPath: string): boolean => cgroupsPath.split(':').length === 3;

/** `slice:prefix:name` -> its parts; undefined for anything else. */
export function parseSystemdCgroupsPath(cgroupsPath: string): SystemdCgroupsPath | undefined {
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) return undefined;
  const [slice, prefix, name] = parts as [string, string, string];
  return name === '' ? undefined : { slice, prefix, name };
}

/**
 * A slice unit's cgroup path: `a-b-c.slice` -> `/a.slice/a-b.slice/a-b-c.slice`, `-.slice` (the
 * root slice) -> `/`. Undefined for a name systemd would refuse (no .slice suffix, a `/`, an empty
 * dash-separated part).
 */
export function expandSlice(slice: string): string | undefined {
  if (!slice.endsWith('.slice') || slice.includes('/')) return undefined;
  if (slice === '-.slice') return '/';
  const parts = slice.slice(0, -'.slice'.length).split('-');
  if (parts.some((p) => p === '')) return undefined;
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('-')}.slice`).join('');
}

/** The unit runc creates for the container. */
export function unitName(p: SystemdCgroupsPath): string {
  return p.name.endsWith('.slice') ? p.name : `${p.prefix}-${p.name}.scope`;
}

/** `slice:prefix:name` -> the unit's cgroup path from the hierarchy's root; undefined if malformed. */
export function systemdCgroupPath(cgroupsPath: string): string | undefined {
  const p = parseSystemdCgroupsPath(cgroupsPath);
  if (p === undefined) return undefined;
  const slice = expandSlice(p.slice === '' ? 'system.slice' : p.slice);
  if (slice === undefined) return undefined;
  return slice === '/' ? `/${unitName(p)}` : `${slice}/${unitName(p)}`;
}
