import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { endianness } from 'node:os';
import { codeOf } from '../base/index.ts';
import {
  listeningTcpPorts,
  ownListeningTcpPorts,
  parseChildren,
  parseProcNetTcp,
  parseProcStat,
  parseSocketLink,
  socketInodes,
} from './proc.ts';

// Captured on this machine (x86_64): 0.0.0.0:2024 listening, two established loopback connections.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 491 1 00000000f9aafeee 100 0 0 10 0
   1: 0100007F:96FB 0100007F:8EC6 06 00000000:00000000 03:00001198 00000000     0        0 0 3 000000002fc6117c
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 00000000b15bf74b 100 0 0 10 0
`;
// Node listening on '::' port 18080 and '::1' port 18081; a third line forged for ::ffff:127.0.0.1.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:46A0 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54206 1 0000000089944cd2 100 0 0 10 0
   1: 00000000000000000000000001000000:46A1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54207 1 00000000efc857fb 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54208 1 0000000000000000 100 0 0 10 0
   3: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 54209 1 0000000000000000 100 0 0 10 0
`;

void test(
  'parseProcNetTcp keeps LISTEN sockets and decodes IPv4 (little-endian fixture)',
  { skip: endianness() !== 'LE' && 'fixture is little-endian' },
  () => {
    assert.deepEqual(parseProcNetTcp(TCP, 4), [
      { family: 4, address: '0.0.0.0', port: 2024, inode: 491 },
      { family: 4, address: '127.0.0.1', port: 8080, inode: 777 },
    ]);
  },
);

void test(
  'parseProcNetTcp decodes IPv6, including IPv4-mapped',
  { skip: endianness() !== 'LE' && 'fixture is little-endian' },
  () => {
    assert.deepEqual(parseProcNetTcp(TCP6, 6), [
      { family: 6, address: '::', port: 18080, inode: 54206 },
      { family: 6, address: '::1', port: 18081, inode: 54207 },
      { family: 6, address: '::ffff:127.0.0.1', port: 80, inode: 54208 },
    ]);
  },
);

void test('parseProcNetTcp ignores headers, blank and malformed lines', () => {
  assert.deepEqual(parseProcNetTcp('', 4), []);
  assert.deepEqual(
    parseProcNetTcp('header\n\n  0: zz 00 0A\n   1: 0100:1F90 00000000:0000 0A a b c d e 12\n', 4),
    [],
  );
});

void test('parseSocketLink, parseChildren, parseProcStat', () => {
  assert.equal(parseSocketLink('socket:[12345]'), 12345);
  assert.equal(parseSocketLink('pipe:[12345]'), undefined);
  assert.equal(parseSocketLink('/dev/null'), undefined);
  assert.deepEqual(parseChildren('12 345 \n'), [12, 345]);
  assert.deepEqual(parseChildren(''), []);
  assert.deepEqual(
    parseProcStat(
      '24560 (cat) R 24554 24554 10532 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 47875 3133440 388 18446744073709551615',
    ),
    {
      pid: 24560,
      comm: 'cat',
      state: 'R',
      ppid: 24554,
      startTime: 47875,
    },
  );
  assert.deepEqual(parseProcStat('7 (a) b) (c) Z 1 7 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 99'), {
    pid: 7,
    comm: 'a) b) (c',
    state: 'Z',
    ppid: 1,
    startTime: 99,
  });
  assert.equal(parseProcStat('garbage'), undefined);
});

async function listen(host: string): Promise<Server> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

void test('own listening ports of this process, separated from other sockets of the netns', async () => {
  const servers = [await listen('127.0.0.1'), await listen('::1').catch(() => undefined)];
  try {
    const ports = servers.map((s) => (s === undefined ? undefined : (s.address() as { port: number }).port));
    const all = await listeningTcpPorts('self');
    const own = await ownListeningTcpPorts('self');
    const inodes = await socketInodes('self');
    assert.ok(own.some((p) => p.family === 4 && p.address === '127.0.0.1' && p.port === ports[0]));
    if (ports[1] !== undefined)
      assert.ok(own.some((p) => p.family === 6 && p.address === '::1' && p.port === ports[1]));
    assert.ok(own.every((p) => inodes.has(p.inode)));
    assert.ok(all.length >= own.length);
    for (const p of all.filter((q) => !inodes.has(q.inode))) assert.ok(!own.includes(p));
  } finally {
    for (const s of servers) s?.close();
  }
});

void test('reading /proc of a pid that does not exist is NotFound', async () => {
  await assert.rejects(listeningTcpPorts(2 ** 22 + 1), (err: unknown) => codeOf(err) === 'NotFound');
  await assert.rejects(socketInodes(2 ** 22 + 1), (err: unknown) => codeOf(err) === 'NotFound');
});
