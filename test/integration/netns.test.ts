/**
 * src/netns against real network namespaces: two namespaces joined by a veth pair, made and
 * deleted here. Needs root; skipped with a reason otherwise.
 *
 *   A: lo, veth a0 10.231.0.1/24  <->  B: lo, veth b0 10.231.0.2/24
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { codeOf } from '../../src/base/index.ts';
import { dialInNetns, listenInNetns } from '../../src/netns/index.ts';
import {
  listeningTcpPorts,
  ownListeningTcpPorts,
  parseIp,
  tcpListener,
  withNetns,
  close,
} from '../../src/sys/index.ts';

const skip = process.getuid?.() === 0 ? false : 'needs root: setns and ip netns';
const [nsA, nsB] = [`zpt-a-${process.pid}`, `zpt-b-${process.pid}`];
const [pathA, pathB] = [`/run/netns/${nsA}`, `/run/netns/${nsB}`];
const ipv6 =
  existsSync('/proc/sys/net/ipv6') &&
  readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() === '0';
const here = () => readlinkSync('/proc/thread-self/ns/net');
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });

before(() => {
  if (skip !== false) return;
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('-n', nsA, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0', 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', '10.231.0.1/24', 'dev', 'a0');
  ip('-n', nsB, 'addr', 'add', '10.231.0.2/24', 'dev', 'b0');
  for (const [ns, dev] of [
    [nsA, 'a0'],
    [nsB, 'b0'],
  ] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
});
after(() => {
  if (skip !== false) return;
  ip('netns', 'delete', nsA); // takes the veth pair with it
  ip('netns', 'delete', nsB);
});

/** An echo server in `nsPath`; each connection gets "<remoteAddress>\n" then its own bytes back. */
async function echo(
  nsPath: string,
  host: string,
  port = 0,
): Promise<{ server: Server; port: number; seen: string[] }> {
  const server = await listenInNetns(nsPath, { host, port });
  const seen: string[] = [];
  server.on('connection', (c: Socket) => {
    seen.push(c.remoteAddress ?? '?');
    c.write(`${c.remoteAddress}\n`);
    c.pipe(c);
  });
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString()));
  socket.end(text);
  await once(socket, 'close');
  return got;
}

void test(
  'listen and dial inside one namespace over loopback; the host cannot reach it',
  { skip, timeout: 10_000 },
  async () => {
    const home = here();
    const { server, port, seen } = await echo(pathA, '127.0.0.1');
    try {
      assert.equal(here(), home);
      const socket = await dialInNetns(pathA, { host: '127.0.0.1', port });
      assert.equal(await roundTrip(socket, 'hi'), '127.0.0.1\nhi');
      const fromHost = connect({ host: '127.0.0.1', port });
      await Promise.race([once(fromHost, 'error'), once(fromHost, 'connect')]);
      fromHost.destroy();
      assert.deepEqual(seen, ['127.0.0.1'], 'no connection from the host namespace reached the server');
    } finally {
      server.close();
    }
  },
);

void test(
  'dual stack: "::" accepts IPv4 and IPv6; ipv6Only refuses IPv4',
  { skip: skip || (!ipv6 && 'IPv6 disabled'), timeout: 10_000 },
  async () => {
    const { server, port, seen } = await echo(pathA, '::');
    const only6 = await listenInNetns(pathA, { host: '::', port: 0, ipv6Only: true });
    try {
      assert.equal(
        await roundTrip(await dialInNetns(pathA, { host: '127.0.0.1', port }), 'x'),
        '::ffff:127.0.0.1\nx',
      );
      assert.equal(await roundTrip(await dialInNetns(pathA, { host: '::1', port }), 'y'), '::1\ny');
      assert.deepEqual(seen, ['::ffff:127.0.0.1', '::1']);
      const port6 = (only6.address() as AddressInfo).port;
      await assert.rejects(
        dialInNetns(pathA, { host: '127.0.0.1', port: port6 }),
        (err: unknown) => codeOf(err) === 'Unavailable',
      );
    } finally {
      server.close();
      only6.close();
    }
  },
);

void test(
  'dial from namespace A to a server in namespace B across the veth',
  { skip, timeout: 10_000 },
  async () => {
    const { server, port } = await echo(pathB, '10.231.0.2');
    try {
      const socket = await dialInNetns(pathA, { host: '10.231.0.2', port });
      assert.equal(socket.localAddress, '10.231.0.1');
      assert.equal(await roundTrip(socket, 'across'), '10.231.0.1\nacross');
    } finally {
      server.close();
    }
  },
);

void test('errors are typed and the thread always returns home', { skip, timeout: 10_000 }, async () => {
  const home = here();
  const { server, port } = await echo(pathA, '127.0.0.1');
  try {
    await assert.rejects(
      listenInNetns(pathA, { host: '127.0.0.1', port }),
      (err: unknown) => codeOf(err) === 'AlreadyExists',
    );
    assert.equal(here(), home);
    await assert.rejects(
      listenInNetns(pathA, { host: '10.231.0.2', port: 0 }),
      (err: unknown) => codeOf(err) === 'InvalidArgument',
    );
    assert.equal(here(), home);
    await assert.rejects(
      dialInNetns(pathA, { host: '127.0.0.1', port: port === 1 ? 2 : 1 }),
      (err: unknown) => codeOf(err) === 'Unavailable',
    );
    // 10.231.0.99 does not exist: the SYN waits on ARP until the signal fires.
    const started = performance.now();
    await assert.rejects(
      dialInNetns(pathA, { host: '10.231.0.99', port: 80 }, AbortSignal.timeout(100)),
      (err: unknown) => codeOf(err) === 'Canceled',
    );
    assert.ok(performance.now() - started < 1000);
    assert.equal(here(), home);
  } finally {
    server.close();
  }
});

void test(
  'a pod process sees our listener in its netns, but not as its own',
  { skip, timeout: 10_000 },
  async () => {
    const { server, port } = await echo(pathA, '0.0.0.0');
    const pod = spawn('ip', ['netns', 'exec', nsA, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await once(pod, 'spawn');
      // ip netns exec execs sleep in the same pid once it has joined the namespace.
      let ports: Awaited<ReturnType<typeof listeningTcpPorts>> = [];
      for (let i = 0; i < 200 && !ports.some((p) => p.port === port); i++) {
        await new Promise((r) => setTimeout(r, 5));
        ports = await listeningTcpPorts(pod.pid ?? 0);
      }
      assert.ok(ports.some((p) => p.family === 4 && p.address === '0.0.0.0' && p.port === port));
      assert.deepEqual(await ownListeningTcpPorts(pod.pid ?? 0), []);
    } finally {
      pod.kill();
      server.close();
    }
  },
);

void test('measured: the setns window for socket+bind+listen', { skip, timeout: 20_000 }, (t) => {
  const address = parseIp('127.0.0.1');
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const start = process.hrtime.bigint();
    const fd = withNetns(pathA, () => tcpListener({ address, port: 0, backlog: 16 }));
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
    close(fd);
  }
  samples.sort((a, b) => a - b);
  const pick = (q: number) => samples[Math.floor(q * (samples.length - 1))]?.toFixed(1);
  t.diagnostic(
    `withNetns(socket+setsockopt+bind+listen) over 200 runs: median ${pick(0.5)} us, p90 ${pick(0.9)} us`,
  );
  assert.ok(samples.length === 200);
});
