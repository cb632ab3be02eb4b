/**
 * A TCP server whose listening socket lives in another network namespace.
 *
 * Inside a setns window on the main thread: socket() + SO_REUSEADDR (+ IPV6_V6ONLY=0 for
 * dual stack) + bind() + listen() through libc; then back home (always, see withNetns) and
 * `net.createServer().listen({ fd })`. Accepted connections inherit the socket's namespace, so
 * the server serves the pod while the rest of the process stays in the host namespace.
 * The window costs ~20-30 us on this machine.
 */
import { createServer, type Server, type ServerOpts } from 'node:net';
import { invalidArgument } from '../base/index.ts';
import { checkPort, fromNodeError, parseIp, tcpListener, withNetns } from '../sys/index.ts';

export interface NetnsListenOptions {
  /** Literal IP: '0.0.0.0', '::' (dual stack unless ipv6Only), '127.0.0.1', '::1', ... */
  host: string;
  /** 0 picks a free port; read it back with server.address(). */
  port: number;
  /** Default 511, like Node. */
  backlog?: number;
  /** For IPv6 hosts: refuse IPv4-mapped connections. Default false. */
  ipv6Only?: boolean;
  server?: ServerOpts;
}

export async function listenInNetns(netnsPath: string, options: NetnsListenOptions): Promise<Server> {
  const address = parseIp(options.host);
  const port = checkPort(options.port);
  const backlog = options.backlog ?? 511;
  if (!Number.isInteger(backlog) || backlog < 1)
    throw invalidArgument('backlog must be a positive integer', { details: { backlog } });
  const fd = withNetns(netnsPath, () =>
    tcpListener({
      address,
      port,
      backlog,
      ...(options.ipv6Only === undefined ? {} : { ipv6Only: options.ipv6Only }),
    }),
  );
  // From here the fd belongs to the server: closing the server closes it. (Node only fails to
  // adopt a listening TCP fd if the fd is not one, which tcpListener rules out.)
  const server = createServer(options.server ?? {});
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      server.close();
      reject(fromNodeError(err, 'serve netns listener', { netnsPath, host: options.host, port }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ fd, backlog });
  });
  return server;
}
