/**
 * The field report's complaint: a sleeping app lost its outbound connections (the original dumps
 * them closed). Ours dumps them with their TCP state and holds them while the app sleeps; data the
 * peer sent meanwhile arrives after the wake, on the same connection. A client's idle keep-alive
 * connection to the app is the other way round: it is reset when the app sleeps (held, its next
 * request would be dropped with nothing to wake the app), so the client opens a new one, which wakes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { IMAGES } from '../../harness/images/index.ts';
import { waitForLog } from '../../harness/cri/index.ts';
import { appPidsInContainer, httpGetFrom, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { dialInNetns, listenInNetns } from '../../src/netns/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

/** A Node.js app with an HTTP port to wake it by (8080) and `client`, a script run beside it. */
function nodeApp(name: string, client: string) {
  return f.runPod({
    name,
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [
      {
        name: 'app',
        image: IMAGES.nodeApp,
        seccomp: 'runtime/default',
        command: [
          'node',
          '-e',
          `require('http').createServer((q, r) => r.end('ok')).listen(8080);\n${client}`,
        ],
      },
    ],
  });
}

test('an outbound connection survives sleep and wake; data sent during the sleep is delivered', async () => {
  // The "database": a server on the client host that the app connects to and that talks later.
  const server = await listenInNetns(f.client.netnsPath, { host: f.client.address, port: 9000 });
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  try {
    // An outbound connection whose data it prints.
    const pod = await nodeApp(
      'scale-outbound',
      `const c = require('net').connect(9000, '${f.client.address}');
       c.on('data', (d) => process.stdout.write(d));
       c.on('close', () => console.log('connection closed'));
       c.on('error', (e) => console.log('connection error ' + e.message));`,
    );
    const id = pod.containers.get('app')!;
    const peer = await accepted;
    let peerError: Error | undefined;
    peer.on('error', (err) => (peerError = err));
    peer.write('before-sleep\n');
    await waitForLog(pod, 'app', (l) => l.some((x) => x.text.includes('before-sleep')));
    await waitForPhase(id, 'scaled-down');
    assert.deepEqual(appPidsInContainer(id), [], 'the app sleeps');
    peer.write('during-sleep\n'); // dropped by the node and retransmitted: no reset
    assert.equal((await httpGetFrom(f.client, pod.ip, 8080)).status, 200, 'a request wakes it');
    peer.write('after-wake\n');

    const lines = await waitForLog(pod, 'app', (l) => l.some((x) => x.text.includes('after-wake')), 15_000);
    const texts = lines.map((l) => l.text);
    assert.ok(texts.includes('during-sleep'), `data sent during the sleep arrived: ${JSON.stringify(texts)}`);
    assert.ok(
      !texts.some((t) => t.startsWith('connection ')),
      'the app never saw its connection close or fail',
    );
    assert.equal(peerError, undefined, 'the peer never saw a reset');
    assert.equal(peer.destroyed, false, 'the connection is still open');
    peer.destroy();
  } finally {
    server.close();
  }
});

test("a keep-alive client's idle connection is reset when the app sleeps, not left to hang; a new one wakes it", async () => {
  const pod = await f.runPod({
    name: 'scale-keepalive',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'running');
  const s = await dialInNetns(f.client.netnsPath, { host: pod.ip, port: 80 }, AbortSignal.timeout(10_000));
  let ended: string | undefined;
  s.on('error', (err: NodeJS.ErrnoException) => (ended ??= `error ${err.code ?? err.message}`));
  s.on('close', () => (ended ??= 'closed'));
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  try {
    // One request on a kept-alive connection (nginx keeps it for 65 s), then silence.
    s.write('GET / HTTP/1.1\r\nHost: pod\r\n\r\n');
    for (let i = 0; i < 100 && !got.includes('</html>'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(got, /^HTTP\/1\.1 200/, 'the first request is answered');
    const down = await waitForPhase(id, 'scaled-down');
    assert.equal(down.connectionsHeld ?? 0, 0, 'the idle client connection is not held');
    for (let i = 0; i < 100 && ended === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(ended, undefined, 'the client saw its idle connection end with the sleep');
    const res = await httpGetFrom(f.client, pod.ip, 80);
    assert.equal(res.status, 200, "the client's next connection wakes the app");
    assert.equal((await scaledStatus(id))?.freshStarts ?? 0, 0, 'from its image');
  } finally {
    s.destroy();
    await f.remove(pod);
  }
});

test('a connection its peer has closed (CLOSE_WAIT) does not keep the app from sleeping', async () => {
  // The peer ends the connection at once; the app keeps its half open and never closes it.
  const server = await listenInNetns(f.client.netnsPath, { host: f.client.address, port: 9001 });
  const ended: net.Socket[] = [];
  server.on('connection', (s: net.Socket) => ended.push(s.end()));
  try {
    const pod = await nodeApp(
      'scale-close-wait',
      `const c = require('net').connect({ port: 9001, host: '${f.client.address}', allowHalfOpen: true });
       c.on('end', () => console.log('peer ended'));
       c.on('error', (e) => console.log('connection error ' + e.message));`,
    );
    const id = pod.containers.get('app')!;
    await waitForLog(pod, 'app', (l) => l.some((x) => x.text.includes('peer ended')));
    const down = await waitForPhase(id, 'scaled-down', 60_000);
    assert.equal(down.failedCheckpoints, 0, 'no dump refused the half-closed socket');
    assert.deepEqual(appPidsInContainer(id), [], 'the app sleeps');
    assert.equal((await httpGetFrom(f.client, pod.ip, 8080)).status, 200, 'a request wakes it');
    assert.equal((await scaledStatus(id))?.freshStarts ?? 0, 0, 'from its image');
    await f.remove(pod);
  } finally {
    for (const s of ended) s.destroy(); // half-open: the app never ended its side
    server.close();
  }
});
