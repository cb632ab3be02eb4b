/**
 * Task stats read straight from the container's cgroups (no process spawned), shaped as containerd's
 * cgroups Metrics of the node's cgroup version (v1: io.containerd.cgroups.v1.Metrics, v2:
 * io.containerd.cgroups.v2.Metrics), which the CRI turns into ContainerStats. The directories come
 * from the init process (cgroups.ts), resolved once when the container is created.
 */
import { toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { cgroupDirForPath, cgroupVersion, type CgroupDirs, type CgroupVersion } from './cgroups.ts';
import type { Container, OciSpec } from './container.ts';
import { MetricsV1Schema, readMetricsV1 } from './stats-v1.ts';
import { MetricsV2Schema, readMetricsV2 } from './stats-v2.ts';

/** A controller's directory from the spec alone (see cgroupDirForPath); prefer `Container.cgroups`. */
export function cgroupDir(spec: OciSpec, controller: string): string | undefined {
  return cgroupDirForPath(spec.linux?.cgroupsPath ?? '', controller);
}

/** cgroup v1 metrics (kept under its old name for the shim's door). */
export const readMetrics = readMetricsV1;
export { readMetricsV1, readMetricsV2 };

/**
 * Packs the metrics the way containerd's typeurl does (the bare message name as type URL); the
 * version picks the message, as the runc shim's cgroup manager does.
 */
export function metricsAny(dirs: CgroupDirs, version: CgroupVersion = cgroupVersion()): Any {
  const any = (typeUrl: string, value: Uint8Array): Any => ({
    $typeName: 'google.protobuf.Any',
    typeUrl,
    value,
  });
  if (version === 2) {
    return any(MetricsV2Schema.typeName, toBinary(MetricsV2Schema, readMetricsV2(dirs.get(''))));
  }
  return any(MetricsV1Schema.typeName, toBinary(MetricsV1Schema, readMetricsV1(dirs)));
}

export async function statsAny(c: Container): Promise<Any> {
  return metricsAny(c.cgroups);
}
