import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubeletRuleset, kubeletTableName } from './kubelet-rules.ts';
import { createRuleset, parseCounters } from './rules.ts';

test("kubelet's table: its cgroup, the pod's addresses and ports, replaced in one transaction", () => {
  const text = kubeletRuleset({
    table: kubeletTableName('0123456789abcdef0123'),
    ports: [80, 8080],
    pod4: ['10.88.0.7'],
    pod6: [],
    cgroup: { nftPath: 'unified/zeropod-ts/kubelet-1/kubelet.service', level: 3 },
  });
  assert.match(text, /^table inet zpk_0123456789abcdef\ndelete table inet zpk_0123456789abcdef\n/);
  assert.match(text, /set pod4 \{ type ipv4_addr; elements = \{ 10\.88\.0\.7 \} \}/);
  assert.match(text, /type filter hook output priority filter;/);
  assert.match(
    text,
    /ip daddr @pod4 tcp dport \{ 80, 8080 \} socket cgroupv2 level 3 "unified\/zeropod-ts\/kubelet-1\/kubelet.service" counter name kubelet/,
  );
});

test("the pod's table counts node traffic apart, on the app's and the activator's ports", () => {
  const text = createRuleset(
    { table: 'zp_x', ports: [80], quiet4: ['127.0.0.0/8'], quiet6: ['::1'], node4: ['10.87.0.2'], node6: [] },
    [40000],
  );
  assert.match(text, /tcp dport \{ 80, 40000 \} ip saddr @node4 counter name node/);
  assert.match(text, /tcp dport \{ 80 \} ip saddr != @quiet4 ip saddr != @node4 counter name activity/);
  assert.match(
    text,
    /set node4 \{ type ipv4_addr; flags interval; auto-merge; elements = \{ 10\.87\.0\.2 \} \}/,
  );
});

test('counters by name from nft -j', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.1' } },
      { counter: { family: 'inet', name: 'activity', table: 'zp_x', packets: 12, bytes: 900 } },
      { counter: { family: 'inet', name: 'node', table: 'zp_x', packets: 5, bytes: 300 } },
    ],
  });
  assert.deepEqual(
    [...parseCounters(json)],
    [
      ['activity', 12],
      ['node', 5],
    ],
  );
});
