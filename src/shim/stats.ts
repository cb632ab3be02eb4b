/**
 * Task stats read straight from the container's cgroup v1 controllers (no process spawned), shaped
 * as containerd's cgroups v1 Metrics, which the CRI turns into ContainerStats. The directories come
 * from the init process (cgroups.ts), resolved once when the container is created.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { MetricsSchema } from '../gen/github.com/containerd/cgroups/v3/cgroup1/stats/metrics_pb.js';
import { cgroupDirForPath, type CgroupDirs } from './cgroups.ts';
import type { Container, OciSpec } from './container.ts';

/** USER_HZ for cpuacct.stat, in nanoseconds. */
const USER_HZ_NS = 10_000_000n;

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined; // controller not mounted: the metric stays zero
  try {
    return readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined; // controller or file absent: the metric stays zero
  }
}

const num = (s: string | undefined): bigint => {
  const t = s?.trim();
  return t && /^\d+$/.test(t) ? BigInt(t) : 0n;
};

function keyed(s: string | undefined): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of (s ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v && /^\d+$/.test(v)) m.set(k, BigInt(v));
  }
  return m;
}

/** A controller's directory from the spec alone (see cgroupDirForPath); prefer `Container.cgroups`. */
export function cgroupDir(spec: OciSpec, controller: string): string | undefined {
  return cgroupDirForPath(spec.linux?.cgroupsPath ?? '', controller);
}

export function readMetrics(dirs: CgroupDirs) {
  const mem = dirs.get('memory');
  const cpu = dirs.get('cpu');
  const acct = dirs.get('cpuacct');
  const pids = dirs.get('pids');
  const memStat = keyed(read(mem, 'memory.stat'));
  const cpuStat = keyed(read(cpu, 'cpu.stat'));
  const cpuacct = keyed(read(acct, 'cpuacct.stat'));
  const g = (k: string) => memStat.get(k) ?? 0n;
  return create(MetricsSchema, {
    pids: pids ? { current: num(read(pids, 'pids.current')), limit: num(read(pids, 'pids.max')) } : {},
    cpu: {
      usage: {
        total: num(read(acct, 'cpuacct.usage')),
        user: (cpuacct.get('user') ?? 0n) * USER_HZ_NS,
        kernel: (cpuacct.get('system') ?? 0n) * USER_HZ_NS,
        perCpu: (read(acct, 'cpuacct.usage_percpu') ?? '').trim().split(/\s+/).filter(Boolean).map(BigInt),
      },
      throttling: {
        periods: cpuStat.get('nr_periods') ?? 0n,
        throttledPeriods: cpuStat.get('nr_throttled') ?? 0n,
        throttledTime: cpuStat.get('throttled_time') ?? 0n,
      },
    },
    memory: mem
      ? {
          cache: g('cache'),
          rss: g('rss'),
          rssHuge: g('rss_huge'),
          mappedFile: g('mapped_file'),
          dirty: g('dirty'),
          writeback: g('writeback'),
          pgFault: g('pgfault'),
          pgMajFault: g('pgmajfault'),
          inactiveAnon: g('inactive_anon'),
          activeAnon: g('active_anon'),
          inactiveFile: g('inactive_file'),
          activeFile: g('active_file'),
          unevictable: g('unevictable'),
          hierarchicalMemoryLimit: g('hierarchical_memory_limit'),
          totalCache: g('total_cache'),
          totalRss: g('total_rss'),
          totalInactiveFile: g('total_inactive_file'),
          totalActiveFile: g('total_active_file'),
          totalInactiveAnon: g('total_inactive_anon'),
          totalActiveAnon: g('total_active_anon'),
          usage: {
            usage: num(read(mem, 'memory.usage_in_bytes')),
            limit: num(read(mem, 'memory.limit_in_bytes')),
            max: num(read(mem, 'memory.max_usage_in_bytes')),
            failcnt: num(read(mem, 'memory.failcnt')),
          },
        }
      : {},
  });
}

/** Packs metrics the way containerd's typeurl does: the bare message name as type URL. */
export async function statsAny(c: Container): Promise<Any> {
  const m = readMetrics(c.cgroups);
  return {
    $typeName: 'google.protobuf.Any',
    typeUrl: MetricsSchema.typeName,
    value: toBinary(MetricsSchema, m),
  };
}
