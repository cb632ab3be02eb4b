import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { MetricsSchema as V1 } from '../gen/github.com/containerd/cgroups/v3/cgroup1/stats/metrics_pb.js';
import { MetricsSchema as V2 } from '../gen/github.com/containerd/cgroups/v3/cgroup2/stats/metrics_pb.js';
import { v2Dirs } from './cgroups.ts';
import { metricsAny, readMetricsV1, readMetricsV2 } from './stats.ts';
import { parseIoStat, parsePsi, parseRdma } from './stats-v2.ts';

// Files copied from real cgroups: v1 from this machine, v2 from the VM (a cgroup with memory.max
// 16M whose `tail /dev/zero` was OOM-killed once, then a `sleep` in it).
const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const v1 = (c: string) => path.join(testdata, 'cgroup-v1', c, 'pod1/c1');
const V1_DIRS = new Map(['memory', 'cpu', 'cpuacct', 'pids'].map((c) => [c, v1(c)]));
const V2_DIR = path.join(testdata, 'cgroup-v2/pod1/c1');
const MAX = 2n ** 64n - 1n;

test('v1: metrics from the controllers, as containerd cgroup1 reads them', () => {
  const m = readMetricsV1(V1_DIRS);
  assert.equal(m.cpu?.usage?.total, 1961903348033n);
  assert.equal(m.cpu?.usage?.user, 157568n * 10_000_000n, 'USER_HZ ticks in ns');
  assert.deepEqual(m.cpu?.usage?.perCpu, [971363652043n, 990541854113n]);
  assert.equal(m.memory?.usage?.usage, 1977094144n);
  assert.equal(m.memory?.usage?.max, 2326966272n);
  assert.equal(m.memory?.totalInactiveFile, 813481984n);
  assert.equal(m.memory?.rss, 953298944n);
  assert.equal(m.memory?.pgMajFault, 499n);
  assert.equal(m.pids?.current, 3n);
  assert.equal(m.pids?.limit, 0n, 'v1 pids.max "max" is 0');
});

test('v2: metrics from the unified directory, as containerd cgroup2 reads them', () => {
  const m = readMetricsV2(V2_DIR);
  assert.equal(m.cpu?.usageUsec, 923200n);
  assert.equal(m.cpu?.systemUsec, 846936n);
  assert.equal(m.cpu?.psi?.some?.total, 1694n);
  assert.equal(m.memory?.usage, 368640n);
  assert.equal(m.memory?.usageLimit, 16777216n);
  assert.equal(m.memory?.maxUsage, 16777216n, 'memory.peak');
  assert.equal(m.memory?.swapLimit, MAX, '"max" is the largest uint64');
  assert.equal(m.memory?.anon, 98304n);
  assert.equal(m.memory?.inactiveFile, 0n);
  assert.equal(m.memory?.activeFile, 4096n);
  assert.equal(m.memory?.pgfault, 4187n);
  assert.equal(m.memory?.pgmajfault, 12n);
  assert.equal(m.memory?.slab, 11312n);
  assert.deepEqual(
    { oom: m.memoryEvents?.oom, oomKill: m.memoryEvents?.oomKill, max: m.memoryEvents?.max },
    { oom: 1n, oomKill: 1n, max: 69n },
  );
  assert.equal(m.pids?.current, 1n);
  assert.equal(m.pids?.limit, 64n);
  assert.equal(m.io?.usage[0]?.rbytes, 335872n);
  assert.deepEqual(
    m.hugetlb.map((h) => [h.pagesize, h.current, h.max]),
    [
      ['1GB', 0n, MAX],
      ['2MB', 0n, MAX],
    ],
  );
  assert.deepEqual(m.rdma?.current, []);
});

test('a missing directory or file is a zero metric, never an error', () => {
  const m = readMetricsV2(path.join(testdata, 'no-such-cgroup'));
  assert.equal(m.memory?.usage, 0n);
  assert.equal(m.memoryEvents, undefined, 'containerd leaves memory_events out without the file');
  assert.equal(readMetricsV1(new Map()).memory?.usage?.usage ?? 0n, 0n);
});

test('the Any names the version its metrics belong to (containerd typeurl: the bare message name)', () => {
  const a2 = metricsAny(v2Dirs(V2_DIR), 2);
  assert.equal(a2.typeUrl, 'io.containerd.cgroups.v2.Metrics');
  assert.equal(fromBinary(V2, a2.value).memory?.usage, 368640n);
  const a1 = metricsAny(V1_DIRS, 1);
  assert.equal(a1.typeUrl, 'io.containerd.cgroups.v1.Metrics');
  assert.equal(fromBinary(V1, a1.value).memory?.usage?.usage, 1977094144n);
});

test('v2 line formats: io.stat per device, rdma entries, pressure', () => {
  assert.deepEqual(parseIoStat('8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\nbad line\n'), [
    { major: 8n, minor: 0n, rbytes: 1n, wbytes: 2n, rios: 3n, wios: 4n },
  ]);
  assert.deepEqual(parseRdma('mlx4_0 hca_handle=2 hca_object=max\n'), [
    { device: 'mlx4_0', hcaHandles: 2, hcaObjects: 2 ** 32 - 1 },
  ]);
  assert.deepEqual(parsePsi('some avg10=1.50 avg60=0.00 avg300=0.00 total=7\n'), {
    some: { avg10: 1.5, avg60: 0, avg300: 0, total: 7n },
  });
  assert.equal(parsePsi(''), undefined);
});
