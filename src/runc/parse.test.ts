import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { parseList, parsePid, parsePs, parseState, parseStats } from './parse.ts';

// Printed by runc 1.3.6 in the node environment (cgroup v1).
const STATE = `{
  "ociVersion": "1.2.1",
  "id": "zpx",
  "pid": 125,
  "status": "created",
  "bundle": "/tmp/zpexp",
  "rootfs": "/tmp/zpexp/rootfs",
  "created": "2026-11-26T05:10:51.556068296Z",
  "owner": ""
}`;

const STATS =
  '{"type":"stats","id":"zpx","data":{"cpu":{"usage":{"total":17211995,"percpu":[12428649,4783346],"percpu_kernel":[7946930,0],' +
  '"percpu_user":[4000000,4000000],"kernel":0,"user":0},"throttling":{}},"cpuset":{"cpus":[0,1],"cpu_exclusive":0,"mems":[0],' +
  '"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,' +
  '"sched_load_balance":1,"sched_relax_domain_level":-1},"memory":{"cache":8192,"usage":{"limit":9223372036854771712,' +
  '"usage":688128,"max":3321856,"failcnt":0},"swap":{"limit":9223372036854771712,"usage":688128,"max":3321856,"failcnt":0},' +
  '"kernel":{"limit":9223372036854771712,"usage":253952,"max":630784,"failcnt":0},"kernelTCP":{"limit":9223372036854771712,' +
  '"failcnt":0},"raw":{"active_anon":12288,"cache":8192,"hierarchical_memory_limit":9223372036854771712,"pgfault":1109,' +
  '"rss":53248,"total_rss":53248}},"pids":{"current":1},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}}\n';

void test('parseState reads runc state', () => {
  const s = parseState(STATE);
  assert.equal(s.id, 'zpx');
  assert.equal(s.pid, 125);
  assert.equal(s.status, 'created');
  assert.equal(s.bundle, '/tmp/zpexp');
});

void test('parseState refuses an unknown status or non-JSON as Internal', () => {
  const isInternal = (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.Internal;
  assert.throws(() => parseState(STATE.replace('"created"', '"weird"')), isInternal);
  assert.throws(() => parseState('container does not exist'), isInternal);
});

void test('parseList: null means no containers', () => {
  assert.deepEqual(parseList('null'), []);
  assert.equal(parseList(`[${STATE},${STATE}]`).length, 2);
});

void test('parsePs: pids, or none for null', () => {
  assert.deepEqual(parsePs('[125]\n'), [125]);
  assert.deepEqual(parsePs('null'), []);
  assert.throws(() => parsePs('["x"]'), ZeropodError);
});

void test('parseStats returns the data of the stats event, v1 "unlimited" kept exactly', () => {
  const s = parseStats(STATS);
  assert.equal(s.cpu.usage.total, 17211995);
  assert.deepEqual(s.cpu.usage.percpu, [12428649, 4783346]);
  assert.equal(s.memory.usage?.usage, 688128);
  assert.equal(BigInt(s.memory.usage?.limit ?? 0), 9223372036854771712n);
  assert.equal(s.memory.raw?.['total_rss'], 53248);
  assert.equal(s.pids.current, 1);
  assert.equal(s.network_interfaces, null);
  assert.throws(() => parseStats('{"type":"oom","id":"x"}'), ZeropodError);
});

void test('parsePid', () => {
  assert.equal(parsePid('4242', '/p'), 4242);
  assert.equal(parsePid('4242\n', '/p'), 4242);
  assert.throws(() => parsePid('', '/p'), ZeropodError);
  assert.throws(() => parsePid('-1', '/p'), ZeropodError);
});
