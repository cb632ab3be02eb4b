/**
 * cgroup v2 task stats: containerd's cgroups v2 Metrics (io.containerd.cgroups.v2) read from the
 * container's one unified directory, field for field as containerd's cgroup2 manager fills them
 * (the runc shim's answer on a v2 node): "max" reads as the largest uint64, absent files as zero,
 * pressure (PSI) only where the kernel exposes it.
 */
import { readdirSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import {
  MetricsSchema,
  type Metrics,
} from '../gen/github.com/containerd/cgroups/v3/cgroup2/stats/metrics_pb.js';
import { MAX_U64, parseKeyed, parseU64, readCgroupFile as read } from './cgroup-files.ts';

export { MetricsSchema as MetricsV2Schema };

const MAX_U32 = 2 ** 32 - 1;

export function readMetricsV2(dir: string | undefined): Metrics {
  if (!dir) return create(MetricsSchema, {});
  const num = (file: string) => parseU64(read(dir, file), MAX_U64);
  const cpu = parseKeyed(read(dir, 'cpu.stat'));
  const mem = parseKeyed(read(dir, 'memory.stat'));
  const events = parseKeyed(read(dir, 'memory.events'));
  const g = (k: string) => mem.get(k) ?? 0n;
  const c = (k: string) => cpu.get(k) ?? 0n;
  const e = (k: string) => events.get(k) ?? 0n;
  const cpuPsi = parsePsi(read(dir, 'cpu.pressure'));
  const memPsi = parsePsi(read(dir, 'memory.pressure'));
  const ioPsi = parsePsi(read(dir, 'io.pressure'));
  return create(MetricsSchema, {
    pids: { current: num('pids.current'), limit: num('pids.max') },
    cpu: {
      usageUsec: c('usage_usec'),
      userUsec: c('user_usec'),
      systemUsec: c('system_usec'),
      nrPeriods: c('nr_periods'),
      nrThrottled: c('nr_throttled'),
      throttledUsec: c('throttled_usec'),
      ...(cpuPsi ? { psi: cpuPsi } : {}),
    },
    memory: {
      anon: g('anon'),
      file: g('file'),
      kernelStack: g('kernel_stack'),
      slab: g('slab'),
      sock: g('sock'),
      shmem: g('shmem'),
      fileMapped: g('file_mapped'),
      fileDirty: g('file_dirty'),
      fileWriteback: g('file_writeback'),
      anonThp: g('anon_thp'),
      inactiveAnon: g('inactive_anon'),
      activeAnon: g('active_anon'),
      inactiveFile: g('inactive_file'),
      activeFile: g('active_file'),
      unevictable: g('unevictable'),
      slabReclaimable: g('slab_reclaimable'),
      slabUnreclaimable: g('slab_unreclaimable'),
      pgfault: g('pgfault'),
      pgmajfault: g('pgmajfault'),
      workingsetRefault: g('workingset_refault'),
      workingsetActivate: g('workingset_activate'),
      workingsetNodereclaim: g('workingset_nodereclaim'),
      pgrefill: g('pgrefill'),
      pgscan: g('pgscan'),
      pgsteal: g('pgsteal'),
      pgactivate: g('pgactivate'),
      pgdeactivate: g('pgdeactivate'),
      pglazyfree: g('pglazyfree'),
      pglazyfreed: g('pglazyfreed'),
      thpFaultAlloc: g('thp_fault_alloc'),
      thpCollapseAlloc: g('thp_collapse_alloc'),
      usage: num('memory.current'),
      usageLimit: num('memory.max'),
      maxUsage: num('memory.peak'),
      swapUsage: num('memory.swap.current'),
      swapLimit: num('memory.swap.max'),
      swapMaxUsage: num('memory.swap.peak'),
      ...(memPsi ? { psi: memPsi } : {}),
    },
    // containerd leaves memory_events out when the file is absent or empty.
    ...(events.size > 0
      ? {
          memoryEvents: {
            low: e('low'),
            high: e('high'),
            max: e('max'),
            oom: e('oom'),
            oomKill: e('oom_kill'),
          },
        }
      : {}),
    io: { usage: parseIoStat(read(dir, 'io.stat')), ...(ioPsi ? { psi: ioPsi } : {}) },
    rdma: { current: parseRdma(read(dir, 'rdma.current')), limit: parseRdma(read(dir, 'rdma.max')) },
    hugetlb: hugePageSizes(dir).map((pagesize) => ({
      pagesize,
      current: num(`hugetlb.${pagesize}.current`),
      max: num(`hugetlb.${pagesize}.max`),
    })),
  });
}

/** io.stat: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..` per device. */
export function parseIoStat(text: string | undefined) {
  const out = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const mm = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!mm) continue;
    const kv = new Map(kvs.map((p) => p.split('=') as [string, string]));
    const v = (k: string) => {
      const s = kv.get(k);
      return s && /^\d+$/.test(s) ? BigInt(s) : 0n;
    };
    out.push({
      major: BigInt(mm[1]!),
      minor: BigInt(mm[2]!),
      rbytes: v('rbytes'),
      wbytes: v('wbytes'),
      rios: v('rios'),
      wios: v('wios'),
    });
  }
  return out;
}

/** rdma.current / rdma.max: `DEVICE hca_handle=N hca_object=N` ("max" is the largest uint32). */
export function parseRdma(text: string | undefined) {
  const out = [];
  for (const line of (text ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const entry = { device: parts[0]!, hcaHandles: 0, hcaObjects: 0 };
    for (const p of parts.slice(1)) {
      const [k, s] = p.split('=');
      const n = s === 'max' ? MAX_U32 : /^\d+$/.test(s ?? '') ? Number(s) : 0;
      if (k === 'hca_handle') entry.hcaHandles = n;
      else if (k === 'hca_object') entry.hcaObjects = n;
    }
    out.push(entry);
  }
  return out;
}

/** cpu/memory/io.pressure: `some avg10=.. avg60=.. avg300=.. total=..` and `full ...`. */
interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: bigint;
}

export function parsePsi(text: string | undefined): { some?: PsiData; full?: PsiData } | undefined {
  if (!text) return undefined;
  const out: { some?: PsiData; full?: PsiData } = {};
  for (const line of text.split('\n')) {
    const [kind, ...kvs] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const kv = new Map(kvs.map((p) => p.split('=') as [string, string]));
    out[kind] = {
      avg10: Number(kv.get('avg10') ?? 0),
      avg60: Number(kv.get('avg60') ?? 0),
      avg300: Number(kv.get('avg300') ?? 0),
      total: /^\d+$/.test(kv.get('total') ?? '') ? BigInt(kv.get('total')!) : 0n,
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Page sizes the cgroup has hugetlb files for (`hugetlb.2MB.current` -> 2MB). */
function hugePageSizes(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((f) => /^hugetlb\.(.+)\.current$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}
