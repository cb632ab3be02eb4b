/**
 * cgroup v1 task stats: containerd's cgroups v1 Metrics read straight from the container's
 * controllers (cpu, cpuacct, memory, pids), as the runc shim answers on a v1 node.
 */
import { create } from '@bufbuild/protobuf';
import {
  MetricsSchema,
  type Metrics,
} from '../gen/github.com/containerd/cgroups/v3/cgroup1/stats/metrics_pb.js';
import { parseKeyed, parseU64, readCgroupFile as read } from './cgroup-files.ts';
import type { CgroupDirs } from './cgroups.ts';

/** USER_HZ for cpuacct.stat, in nanoseconds. */
const USER_HZ_NS = 10_000_000n;

export { MetricsSchema as MetricsV1Schema };

export function readMetricsV1(dirs: CgroupDirs): Metrics {
  const mem = dirs.get('memory');
  const cpu = dirs.get('cpu');
  const acct = dirs.get('cpuacct');
  const pids = dirs.get('pids');
  const num = (dir: string | undefined, file: string) => parseU64(read(dir, file));
  const memStat = parseKeyed(read(mem, 'memory.stat'));
  const cpuStat = parseKeyed(read(cpu, 'cpu.stat'));
  const cpuacct = parseKeyed(read(acct, 'cpuacct.stat'));
  const g = (k: string) => memStat.get(k) ?? 0n;
  return create(MetricsSchema, {
    pids: pids ? { current: num(pids, 'pids.current'), limit: num(pids, 'pids.max') } : {},
    cpu: {
      usage: {
        total: num(acct, 'cpuacct.usage'),
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
            usage: num(mem, 'memory.usage_in_bytes'),
            limit: num(mem, 'memory.limit_in_bytes'),
            max: num(mem, 'memory.max_usage_in_bytes'),
            failcnt: num(mem, 'memory.failcnt'),
          },
        }
      : {},
  });
}
