/**
 * A client host on the pod network that is not the node: its own network namespace with a veth on
 * the CNI bridge and an address outside the IPAM range's busy low end. Traffic from it counts as
 * real user traffic (the node's own addresses are where kubelet probes come from).
 */
import { execFileSync } from 'node:child_process';
import type net from 'node:net';
import { dialInNetns } from '../../src/netns/index.ts';
import { bound } from './slowdown.ts';

export interface ClientHost {
  name: string;
  netnsPath: string;
  address: string;
  remove(): void;
}

let seq = 0;

export function createClientHost(bridge = 'cni0'): ClientHost {
  const n = (process.pid % 200) + seq++;
  const name = `zpc${process.pid % 10000}-${n}`;
  const host = `zh${n}-${process.pid % 10000}`.slice(0, 15);
  const peer = `zp${n}-${process.pid % 10000}`.slice(0, 15);
  const address = `10.88.${250 + (n % 5)}.${(n % 250) + 2}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  ensureBridge(bridge, ip);
  ip('netns', 'add', name);
  try {
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', peer, 'netns', name);
    ip('link', 'set', host, 'master', bridge);
    ip('link', 'set', host, 'up');
    ip('-n', name, 'addr', 'add', `${address}/16`, 'dev', peer);
    ip('-n', name, 'link', 'set', peer, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    execFileSync('ip', ['netns', 'del', name]);
    throw err;
  }
  return {
    name,
    netnsPath: `/run/netns/${name}`,
    address,
    remove() {
      try {
        execFileSync('ip', ['link', 'del', host], { stdio: 'ignore' });
      } catch {
        // the veth went with the namespace already
      }
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    },
  };
}

/**
 * The CNI bridge plugin makes the bridge with the first pod; a client host made before any pod
 * makes it itself (the plugin takes an existing bridge as it is and adds its gateway address).
 */
function ensureBridge(bridge: string, ip: (...args: string[]) => Buffer): void {
  try {
    ip('link', 'show', bridge);
  } catch {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('link', 'set', bridge, 'up');
  }
}

export interface ClientResponse {
  status: number;
  body: string;
  ms: number;
}

/** An HTTP/1.0 GET from inside the client host; the full response, or an error after `timeoutMs`. */
export async function httpGetFrom(
  client: ClientHost,
  host: string,
  port: number,
  path = '/',
  timeoutMs = bound(10_000),
): Promise<ClientResponse> {
  const started = performance.now();
  const sock = await dialInNetns(client.netnsPath, { host, port }, AbortSignal.timeout(timeoutMs));
  return exchange(
    sock,
    `GET ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: zeropod-test\r\n\r\n`,
    timeoutMs,
    started,
  ).then((raw) => {
    const text = raw.toString('utf8');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4), ms: performance.now() - started };
  });
}

/** Sends `request`, reads until the server closes; bounded by `timeoutMs`. */
export function exchange(
  sock: net.Socket,
  request: string | Buffer,
  timeoutMs: number,
  started = performance.now(),
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `no complete response within ${timeoutMs} ms (${Math.round(performance.now() - started)} ms)`,
        ),
      );
    }, timeoutMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.once('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks));
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.write(request);
  });
}
